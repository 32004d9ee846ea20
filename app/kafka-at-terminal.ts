import type { Admin, Kafka } from "kafkajs";
import type { Config } from "../src/config.ts";
import { AppError } from "../src/errors.ts";
import { createKafka } from "../src/kafka.ts";
import type { Logger } from "../src/log.ts";
import { explainUnreachable, serviceAddresses } from "./unreachable.ts";

/**
 * Kafka for a command someone runs at a terminal (dlq, migrate): kafkajs's own lines only at
 * LOG_LEVEL=debug, and an admin client that connects first and gives up within about a second, so
 * Kafka being away is one line naming the address and the setting — not a minute of retries.
 * The returned `kafka` keeps kafkajs's patient retries for consumers and producers (a group
 * coordinator may be loading).
 */
export async function connectKafkaAdmin(
  config: Config,
  logger: Logger,
  clientSuffix: string,
): Promise<{ kafka: Kafka; admin: Admin; explain: (err: unknown) => AppError | undefined }> {
  const client = {
    brokers: config.kafka.brokers,
    clientId: `${config.kafka.clientId}-${clientSuffix}`,
    logger: debugOnly(logger),
  };
  const kafka = createKafka(client);
  const admin = createKafka({ ...client, timeouts: { connectionMs: 1000, requestMs: 30_000 }, retries: 2 }).admin();
  const target = serviceAddresses(config).kafka;
  const explain = (err: unknown) => {
    const why = explainUnreachable(target, err);
    return why === undefined ? undefined : new AppError("SERVICE_UNREACHABLE", why, undefined, { cause: err });
  };
  try {
    await admin.connect();
  } catch (err) {
    throw (
      explain(err) ??
      new AppError("SERVICE_UNREACHABLE", `cannot connect to Kafka at ${target.address}: ${(err as Error).message}`)
    );
  }
  return { kafka, admin, explain };
}

/** Everything `logger` is given, at debug level: shown only with LOG_LEVEL=debug. */
export function debugOnly(logger: Logger): Logger {
  const quiet = (to: Logger): Logger => ({
    debug: to.debug,
    info: to.debug,
    warn: to.debug,
    error: to.debug,
    child: (bindings) => quiet(to.child(bindings)),
  });
  return quiet(logger);
}
