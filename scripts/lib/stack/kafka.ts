import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import type { StackOptions } from "./options.ts";
import { choosePort, HOST } from "./ports.ts";
import { isRunning, run, sleep, spawnDetached, waitUntil } from "./process.ts";
import type { Launched, Service, StartContext } from "./service.ts";
import type { ProcessRecord, StackState } from "./state.ts";

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
  ownAddress: (state) => (state.ports.kafka ? kafkaAddresses(state).join(",") : undefined),
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

/** Answers metadata with a controller and (at least) `brokers` brokers registered. */
export async function isKafkaAnswering(brokers: string[], expectedBrokers = 1): Promise<boolean> {
  const admin = client(brokers).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length >= expectedBrokers && cluster.controller !== null && cluster.controller >= 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** One broker of the stack's Kafka: node 1 is the only one unless `up --brokers N`. */
type KafkaNode = { id: number; port: number; controllerPort: number; dir: string; logsDir: string; logFile: string };

/** Brokers in this stack dir's Kafka (fixed by the first `up`, see useKafkaBrokers). */
export function kafkaBrokerCount(state: StackState): number {
  return state.kafkaBrokers ?? 1;
}

/**
 * Applies `up --brokers N`: a stack dir keeps the cluster size its data was formatted with, so a
 * different N there is refused (returns why) rather than half-joining old data to a new quorum.
 */
export function useKafkaBrokers(options: StackOptions, state: StackState): string | undefined {
  const wanted = options.kafkaBrokers;
  if (wanted === undefined || wanted === kafkaBrokerCount(state)) return undefined;
  if (options.external.kafkaBrokers)
    return "--brokers: Kafka comes from KAFKA_BROKERS here, the stack does not start it";
  if (existsSync(join(options.stateDir, "kafka/data/meta.properties"))) {
    return `--brokers ${wanted}: ${options.stateDir} holds a ${kafkaBrokerCount(state)}-broker Kafka; use another EFT_STACK_DIR or ./scripts/stack down --purge first`;
  }
  state.kafkaBrokers = wanted;
  return undefined;
}

/** Node 1 on the ports `up` chose; nodes 2..N on ports chosen here and remembered in the state. */
async function kafkaNodes(options: StackOptions, state: StackState, keepPorts: boolean): Promise<KafkaNode[]> {
  const { kafka: port, kafkaController: controllerPort } = state.ports;
  if (!port || !controllerPort) throw new Error("kafka ports not chosen");
  const logsDir = join(options.stateDir, "logs");
  const nodes: KafkaNode[] = [
    { id: 1, port, controllerPort, dir: join(options.stateDir, "kafka"), logsDir, logFile: join(logsDir, "kafka.out") },
  ];
  const { postgres, clickhouse } = state.ports;
  const taken = new Set<number>([port, controllerPort, postgres ?? 0, clickhouse ?? 0]);
  const extra = state.ports.kafkaNodes ?? [];
  for (let id = 2; id <= kafkaBrokerCount(state); id++) {
    const remembered = extra[id - 2];
    // A running broker knows the others by their ports: a restarted one must come back on its own.
    const chosen =
      keepPorts && remembered
        ? remembered
        : {
            kafka: await choosePort(remembered?.kafka, taken),
            controller: await choosePort(remembered?.controller, taken),
          };
    extra[id - 2] = chosen;
    nodes.push({
      id,
      port: chosen.kafka,
      controllerPort: chosen.controller,
      dir: join(options.stateDir, `kafka/node-${id}`),
      logsDir: join(logsDir, `kafka-${id}`),
      logFile: join(logsDir, `kafka-${id}.out`),
    });
  }
  if (extra.length > 0) state.ports.kafkaNodes = extra.slice(0, kafkaBrokerCount(state) - 1);
  return nodes;
}

async function launchKafka({ options, state, running }: StartContext): Promise<Launched> {
  const notes: string[] = [];
  const { libsDir, downloadMs } = await ensureKafkaLibs(options);
  if (downloadMs !== undefined) notes.push(`download ${downloadMs} ms`);
  const nodes = await kafkaNodes(options, state, running !== undefined);
  state.kafkaClusterId ??= randomClusterId();
  const previous = running ? [running, ...(running.nodes ?? [])] : [];

  const records: ProcessRecord[] = [];
  for (const node of nodes) {
    const alive = previous[node.id - 1];
    if (alive && isRunning({ ...alive, nodes: undefined })) {
      records.push({ ...alive, nodes: undefined });
      continue;
    }
    records.push(await launchNode(options, state, node, nodes, libsDir, notes));
  }
  const [first, ...others] = records as [ProcessRecord, ...ProcessRecord[]];
  return { process: others.length > 0 ? { ...first, nodes: others } : first, notes };
}

async function launchNode(
  options: StackOptions,
  state: StackState,
  node: KafkaNode,
  nodes: KafkaNode[],
  libsDir: string,
  notes: string[],
): Promise<ProcessRecord> {
  const dataDir = join(node.dir, "data");
  const configFile = join(node.dir, "server.properties");
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(node.logsDir, { recursive: true });
  writeFileSync(configFile, serverProperties(node, nodes, dataDir));
  const jvm = [
    `-Dlog4j2.configurationFile=${join(options.repoRoot, "scripts/kafka/log4j2.xml")}`,
    `-Dkafka.logs.dir=${node.logsDir}`,
    "-cp",
    // Expanded by java itself, not by a shell.
    `${libsDir}/*`,
  ];
  if (!existsSync(join(dataDir, "meta.properties"))) {
    const startedAt = Date.now();
    const clusterId = state.kafkaClusterId ?? "";
    const format = await run("java", [...jvm, "kafka.tools.StorageTool", "format", "-t", clusterId, "-c", configFile], {
      cwd: options.stateDir,
    });
    if (format.code !== 0) throw new Error(`kafka storage format (node ${node.id}) failed:\n${format.output}`);
    notes.push(
      nodes.length > 1 ? `node ${node.id} format ${Date.now() - startedAt} ms` : `format ${Date.now() - startedAt} ms`,
    );
  }
  // Kafka's own kafka-server-start.sh defaults, with a heap sized for a dev machine (three
  // brokers of a cluster share it).
  const heap = nodes.length > 1 ? ["-Xms128m", "-Xmx384m"] : ["-Xms256m", "-Xmx512m"];
  return spawnDetached({
    command: "java",
    args: [
      ...heap,
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
    logFile: node.logFile,
  });
}

async function settleKafka({ state }: StartContext, record: ProcessRecord): Promise<string[]> {
  const brokers = kafkaAddresses(state);
  const count = kafkaBrokerCount(state);
  await waitUntil(count > 1 ? `all ${count} kafka brokers` : "kafka metadata", () => isKafkaAnswering(brokers, count), {
    timeoutMs: READY_TIMEOUT_MS,
    intervalMs: 200,
    process: record,
  });
  // A cluster's brokers learn of a new topic one after the other: a client asking the one that has
  // not yet hears "does not host this topic-partition" for a moment.
  for (let attempt = 1; ; attempt++) {
    try {
      await ensureTopic(brokers, WEB_LOGS_TOPIC, 1, replicationFactor(count));
      const joinMs = await waitForGroupJoin(brokers, READY_TIMEOUT_MS);
      return [`first group join ${joinMs} ms`];
    } catch (error) {
      if (count === 1 || attempt >= 5) throw error;
      await sleep(1_000);
    }
  }
}

/** Every broker's address, node 1 first; empty before the ports were ever chosen. */
function kafkaAddresses(state: StackState): string[] {
  if (!state.ports.kafka) return [];
  const extra = (state.ports.kafkaNodes ?? []).slice(0, kafkaBrokerCount(state) - 1);
  return [state.ports.kafka, ...extra.map((node) => node.kafka)].map((port) => `${HOST}:${port}`);
}

/** Kafka's usual production shape from three brokers on: three copies, two must acknowledge. */
const replicationFactor = (brokers: number) => Math.min(brokers, 3);
const minInsyncReplicas = (brokers: number) => (brokers >= 3 ? 2 : 1);

/**
 * A static quorum (controller.quorum.voters) rather than `format --standalone`: a dynamic quorum
 * writes the controllers' endpoints into the metadata log at format time, and the stack may have
 * to move them to other ports on a later `up`. Every broker of a cluster is also a controller.
 */
function serverProperties(node: KafkaNode, nodes: KafkaNode[], dataDir: string) {
  const voters = nodes.map((n) => `${n.id}@${HOST}:${n.controllerPort}`).join(",");
  const replicas = replicationFactor(nodes.length);
  const minIsr = minInsyncReplicas(nodes.length);
  return `# Written by scripts/stack on every start (its ports may change): edits here are lost.
process.roles=broker,controller
node.id=${node.id}
controller.quorum.voters=${voters}
listeners=PLAINTEXT://${HOST}:${node.port},CONTROLLER://${HOST}:${node.controllerPort}
advertised.listeners=PLAINTEXT://${HOST}:${node.port}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=${dataDir}
num.partitions=1
default.replication.factor=${replicas}
min.insync.replicas=${minIsr}
auto.create.topics.enable=true
# Internal topics must not ask for more replicas than there are brokers, or consumers wait forever
# for a group coordinator ("group coordinator is not available", kafkajs #1752).
offsets.topic.replication.factor=${replicas}
transaction.state.log.replication.factor=${replicas}
transaction.state.log.min.isr=${minIsr}
share.coordinator.state.topic.replication.factor=${replicas}
share.coordinator.state.topic.min.isr=${minIsr}
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

export async function ensureTopic(
  brokers: string[],
  topic: string,
  numPartitions = 1,
  replicationFactor = 1,
): Promise<void> {
  const admin = client(brokers).admin();
  await admin.connect();
  try {
    const existing = await admin.listTopics();
    if (existing.includes(topic)) return;
    await admin.createTopics({
      topics: [{ topic, numPartitions, replicationFactor }],
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
  await ensureTopic(brokers, PROBE_TOPIC, 1, replicationFactor(brokers.length));
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
