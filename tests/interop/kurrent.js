"use strict";
// The official KurrentDB Node.js client (@kurrent/kurrentdb-client), driven by test_node_client.py.
//
//   node kurrent.js SCENARIO '{"url": "esdb://...", ...}'
//
// Prints one JSON line on stdout: what the client read, wrote or raised. BigInts are printed as
// strings, binary data as base64. Reads go through the client's Rust addon, writes and
// subscriptions through grpc-js: two code paths that the Python tests do not share.

const {
  KurrentDBClient,
  jsonEvent,
  binaryEvent,
  excludeSystemEvents,
  streamNameFilter,
  START,
  ANY,
  NO_STREAM,
} = require("@kurrent/kurrentdb-client");

function record(r) {
  if (!r) return null;
  const raw = (value) => Buffer.from(value).toString("base64");
  let metadata = null;
  if (r.metadata !== undefined) {
    metadata = r.metadata instanceof Uint8Array ? { base64: raw(r.metadata) } : { json: r.metadata };
  }
  return {
    stream: r.streamId,
    type: r.type,
    id: r.id,
    revision: String(r.revision),
    commit: r.position ? String(r.position.commit) : null,
    prepare: r.position ? String(r.position.prepare) : null,
    isJson: r.isJson,
    data: r.isJson ? { json: r.data } : { base64: raw(r.data) },
    metadata,
  };
}

const resolved = (e) => ({ event: record(e.event), link: record(e.link) });

function eventData(spec) {
  const metadata = spec.metadata === undefined ? undefined : spec.metadata;
  if (spec.base64 !== undefined) {
    return binaryEvent({ type: spec.type, id: spec.id, data: Buffer.from(spec.base64, "base64"), metadata });
  }
  return jsonEvent({ type: spec.type, id: spec.id, data: spec.data, metadata });
}

function filterOf(args) {
  if (args.streamPrefixes) return streamNameFilter({ prefixes: args.streamPrefixes });
  if (args.excludeSystem) return excludeSystemEvents();
  return undefined;
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function collect(subscription, count, ms) {
  const events = [];
  const done = new Promise((resolve, reject) => {
    subscription.on("data", (e) => {
      events.push(resolved(e));
      if (events.length >= count) resolve();
    });
    subscription.on("error", reject);
  });
  try {
    await withTimeout(done, ms, `waiting for ${count} event(s)`);
  } finally {
    await subscription.unsubscribe();
  }
  return events;
}

const scenarios = {
  async read(client, args) {
    const options = { resolveLinkTos: !!args.resolveLinks };
    if (args.maxCount) options.maxCount = args.maxCount;
    const events = [];
    if (args.stream !== undefined) {
      for await (const e of client.readStream(args.stream, options)) events.push(resolved(e));
    } else {
      const filter = filterOf(args);
      for await (const e of client.readAll({ ...options, filter })) events.push(resolved(e));
    }
    return { events };
  },

  async subscribe(client, args) {
    const options = { resolveLinkTos: !!args.resolveLinks, fromRevision: START };
    const subscription =
      args.stream !== undefined
        ? client.subscribeToStream(args.stream, options)
        : client.subscribeToAll({ fromPosition: START, resolveLinkTos: !!args.resolveLinks, filter: filterOf(args) });
    let appended = null;
    if (args.appendAfter) {
      // Write while the subscription is live (after it caught up), from this same client.
      subscription.once("caughtUp", () => {
        const spec = args.appendAfter;
        appended = client.appendToStream(spec.stream, spec.events.map(eventData));
      });
    }
    const events = await collect(subscription, args.count, args.timeoutMs || 20000);
    if (appended) await appended;
    return { events };
  },

  async idle(client, args) {
    // Subscribe, stay idle while the client pings, then write: the event must still arrive.
    const subscription = client.subscribeToStream(args.stream, { fromRevision: START });
    const errors = [];
    subscription.on("error", (error) => errors.push(String(error)));
    await withTimeout(new Promise((resolve) => subscription.once("caughtUp", resolve)), 20000, "caught up");
    await new Promise((resolve) => setTimeout(resolve, args.idleMs));
    const idleErrors = [...errors];
    const written = client.appendToStream(args.stream, jsonEvent({ type: "AfterIdle", data: {} }));
    const events = await collect(subscription, 1, 20000);
    await written;
    return { events, idleErrors };
  },

  async append(client, args) {
    const streamState = { any: ANY, no_stream: NO_STREAM }[args.streamState || "any"];
    const result = await client.appendToStream(args.stream, args.events.map(eventData), { streamState });
    return {
      revision: String(result.nextExpectedRevision),
      commit: result.position ? String(result.position.commit) : null,
    };
  },

  async features(client) {
    const capabilities = await client.capabilities;
    const { StreamsService } = require("@kurrent/kurrentdb-client/generated/kurrentdb/protocols/v1/streams_grpc_pb");
    const v2 = require("@kurrent/kurrentdb-client/generated/kurrentdb/protocols/v2/streams/streams_grpc_pb");
    const ps = require("@kurrent/kurrentdb-client/generated/kurrentdb/protocols/v1/persistentsubscriptions_grpc_pb");
    return {
      serverVersion: capabilities.serverVersion,
      batchAppend: capabilities.supports(StreamsService.batchAppend),
      appendSession: capabilities.supports(v2.StreamsServiceService.appendSession),
      appendRecords: capabilities.supports(v2.StreamsServiceService.appendRecords),
      listAll: capabilities.supports(ps.PersistentSubscriptionsService.list, "all"),
      persistentCreate: capabilities.supports(ps.PersistentSubscriptionsService.create, "all"),
    };
  },

  async multiAppend(client, args) {
    const result = await client.multiStreamAppend(
      args.requests.map((r) => ({
        streamName: r.stream,
        events: r.events.map(eventData),
        expectedState: { any: ANY, no_stream: NO_STREAM }[r.expectedState || "any"],
      }))
    );
    return {
      position: String(result.position),
      responses: result.responses.map((o) => ({ stream: o.streamName, revision: String(o.revision) })),
    };
  },

  async tombstoneThenMetadata(client, args) {
    await client.appendToStream(args.stream, jsonEvent({ type: "Before", data: {} }));
    await client.tombstoneStream(args.stream);
    try {
      await client.setStreamMetadata(args.stream, { maxCount: 3 });
      return { error: null };
    } catch (error) {
      return { error: error.constructor.name, type: error.type || null };
    }
  },

  async listPersistent(client) {
    const all = await client.listAllPersistentSubscriptions();
    return { count: all.length };
  },
};

async function main() {
  const [scenario, json] = process.argv.slice(2);
  const args = JSON.parse(json || "{}");
  const run = scenarios[scenario];
  if (!run) throw new Error(`unknown scenario ${scenario}; one of ${Object.keys(scenarios)}`);
  const client = KurrentDBClient.connectionString(args.url);
  try {
    const result = await run(client, args);
    process.stdout.write(JSON.stringify(result, (_, v) => (typeof v === "bigint" ? String(v) : v)) + "\n");
  } finally {
    await client.dispose();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
    process.exit(1);
  }
);
