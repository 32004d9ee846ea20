import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import type { StackOptions } from "./options.ts";
import { HOST } from "./ports.ts";
import { run, spawnDetached, waitUntil } from "./process.ts";
import type { Launched, Service, StartContext } from "./service.ts";
import type { ProcessRecord } from "./state.ts";

/** The topic the application produces to and consumes from. */
export const WEB_LOGS_TOPIC = "web-logs-topic";
/** Joined once after each start: proves consumer groups work (see waitForGroupJoin). */
const PROBE_TOPIC = "eft-stack-probe";

const READY_TIMEOUT_MS = 90_000;

export const kafka: Service = {
  name: "kafka",
  envName: "KAFKA_BROKERS",
  portKeys: ["kafka", "kafkaController"],
  externalAddress: (options) => options.external.kafkaBrokers,
  ownAddress: (state) => (state.ports.kafka ? `${HOST}:${state.ports.kafka}` : undefined),
  isAnswering: (address) => isKafkaAnswering(parseBrokers(address)),
  launch: launchKafka,
  settle: settleKafka,
  stopSignal: "SIGTERM",
  logFiles: (stateDir) => [join(stateDir, "logs/kafka-server.log"), join(stateDir, "logs/kafka.out")],
};

export function parseBrokers(address: string): string[] {
  return address
    .split(",")
    .map((broker) => broker.trim())
    .filter(Boolean);
}

function client(brokers: string[]): Kafka {
  // Polling a broker that is still starting fails by design: keep kafkajs quiet and fast about it.
  return new Kafka({
    clientId: "eft-stack",
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    requestTimeout: 5_000,
    retry: { retries: 0 },
  });
}

export async function isKafkaAnswering(brokers: string[]): Promise<boolean> {
  const admin = client(brokers).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0 && cluster.controller !== null && cluster.controller >= 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function launchKafka({ options, state }: StartContext): Promise<Launched> {
  const notes: string[] = [];
  const { libsDir, downloadMs } = await ensureKafkaLibs(options);
  if (downloadMs !== undefined) notes.push(`download ${downloadMs} ms`);

  const dataDir = join(options.stateDir, "kafka/data");
  const logsDir = join(options.stateDir, "logs");
  const configFile = join(options.stateDir, "kafka/server.properties");
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(logsDir, { recursive: true });
  writeFileSync(configFile, serverProperties(state.ports.kafka, state.ports.kafkaController, dataDir));

  const jvm = [
    `-Dlog4j2.configurationFile=${join(options.repoRoot, "scripts/kafka/log4j2.xml")}`,
    `-Dkafka.logs.dir=${logsDir}`,
    "-cp",
    // Expanded by java itself, not by a shell.
    `${libsDir}/*`,
  ];

  if (!existsSync(join(dataDir, "meta.properties"))) {
    state.kafkaClusterId ??= randomClusterId();
    const startedAt = Date.now();
    const format = await run(
      "java",
      [...jvm, "kafka.tools.StorageTool", "format", "-t", state.kafkaClusterId, "-c", configFile],
      { cwd: options.stateDir },
    );
    if (format.code !== 0) throw new Error(`kafka storage format failed:\n${format.output}`);
    notes.push(`format ${Date.now() - startedAt} ms`);
  }

  const record = spawnDetached({
    command: "java",
    args: [
      // Kafka's own kafka-server-start.sh defaults, with a heap sized for a dev machine.
      "-Xms256m",
      "-Xmx512m",
      "-XX:+UseG1GC",
      "-XX:MaxGCPauseMillis=20",
      "-XX:InitiatingHeapOccupancyPercent=35",
      "-XX:+ExplicitGCInvokesConcurrent",
      "-Djava.awt.headless=true",
      ...jvm,
      "kafka.Kafka",
      configFile,
    ],
    cwd: options.stateDir,
    logFile: join(logsDir, "kafka.out"),
  });
  return { process: record, notes };
}

async function settleKafka({ state }: StartContext, record: ProcessRecord): Promise<string[]> {
  const brokers = [`${HOST}:${state.ports.kafka}`];
  await waitUntil("kafka metadata", () => isKafkaAnswering(brokers), {
    timeoutMs: READY_TIMEOUT_MS,
    intervalMs: 200,
    process: record,
  });
  await ensureTopic(brokers, WEB_LOGS_TOPIC);
  const joinMs = await waitForGroupJoin(brokers, READY_TIMEOUT_MS);
  return [`first group join ${joinMs} ms`];
}

/**
 * A static one-voter quorum (controller.quorum.voters) rather than `format --standalone`: a dynamic
 * quorum writes the controller's endpoint into the metadata log at format time, and the stack
 * may have to move the controller to another port on a later `up`.
 */
function serverProperties(port: number | undefined, controllerPort: number | undefined, dataDir: string) {
  if (!port || !controllerPort) throw new Error("kafka ports not chosen");
  return `# Written by scripts/stack on every start (its ports may change): edits here are lost.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@${HOST}:${controllerPort}
listeners=PLAINTEXT://${HOST}:${port},CONTROLLER://${HOST}:${controllerPort}
advertised.listeners=PLAINTEXT://${HOST}:${port}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=${dataDir}
num.partitions=1
default.replication.factor=1
auto.create.topics.enable=true
# One broker: internal topics must not ask for 3 replicas, or consumers wait forever for a group
# coordinator ("group coordinator is not available", kafkajs #1752).
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Tests join a fresh group per test: no 3 s wait for more members.
group.initial.rebalance.delay.ms=0
`;
}

/** Kafka's Uuid text form: 16 random bytes, base64url; Kafka itself avoids a leading "-". */
function randomClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString("base64url");
    if (!id.startsWith("-")) return id;
  }
}

/**
 * The broker's classpath, fetched from Maven Central once per pom version into the cache dir.
 * A marker holding the pom's hash says the download is complete and still matches the pom.
 */
async function ensureKafkaLibs(options: StackOptions): Promise<{ libsDir: string; downloadMs?: number }> {
  const pom = join(options.repoRoot, "scripts/kafka/pom.xml");
  const pomText = readFileSync(pom, "utf8");
  const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pomText)?.[1] ?? "unknown";
  const dir = join(options.cacheDir, `kafka-${version}`);
  const libsDir = join(dir, "libs");
  const marker = join(dir, "libs.complete");
  const pomHash = createHash("sha256").update(pomText).digest("hex");
  if (existsSync(marker) && readFileSync(marker, "utf8").trim() === pomHash) return { libsDir };

  const startedAt = Date.now();
  // Into a private dir first: a download cut short never looks like a complete classpath.
  const partial = join(dir, `libs.partial-${process.pid}`);
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let result: Awaited<ReturnType<typeof run>>;
  try {
    result = await run(
      "mvn",
      ["-q", "-B", "-f", pom, "dependency:copy-dependencies", `-DoutputDirectory=${partial}`, "-DincludeScope=runtime"],
      { cwd: options.repoRoot },
    );
  } catch (error) {
    throw new Error(`kafka needs Maven (mvn) and Java 17+ on PATH: ${String(error)}`);
  }
  if (result.code !== 0) {
    rmSync(partial, { recursive: true, force: true });
    throw new Error(`downloading the Kafka ${version} classpath with mvn failed:\n${result.output}`);
  }
  rmSync(libsDir, { recursive: true, force: true });
  renameSync(partial, libsDir);
  writeFileSync(marker, `${pomHash}\n`);
  return { libsDir, downloadMs: Date.now() - startedAt };
}

export async function ensureTopic(brokers: string[], topic: string, numPartitions = 1): Promise<void> {
  const admin = client(brokers).admin();
  await admin.connect();
  try {
    const existing = await admin.listTopics();
    if (existing.includes(topic)) return;
    await admin.createTopics({
      topics: [{ topic, numPartitions, replicationFactor: 1 }],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}

/**
 * The broker answers metadata before it can coordinate consumer groups: the first join creates
 * __consumer_offsets and loads it. Waiting for one real join here means a consumer that starts
 * right after `up` does not meet "group coordinator is not available".
 */
async function waitForGroupJoin(brokers: string[], timeoutMs: number): Promise<number> {
  const startedAt = Date.now();
  await ensureTopic(brokers, PROBE_TOPIC);
  const consumer = new Kafka({ clientId: "eft-stack", brokers, logLevel: logLevel.NOTHING }).consumer({
    groupId: PROBE_TOPIC,
    // disconnect() waits for the fetch in flight, which otherwise long-polls for 5 s.
    maxWaitTimeInMs: 100,
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const joined = new Promise<void>((done) => consumer.on(consumer.events.GROUP_JOIN, () => done()));
    const timedOut = new Promise<never>((_, fail) => {
      timer = setTimeout(() => fail(new Error(`no consumer group join within ${timeoutMs} ms`)), timeoutMs);
    });
    await consumer.connect();
    await consumer.subscribe({ topic: PROBE_TOPIC });
    await consumer.run({ eachMessage: async () => {} });
    await Promise.race([joined, timedOut]);
    return Date.now() - startedAt;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => {});
  }
}
