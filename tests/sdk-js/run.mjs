// The AWS SDK for JavaScript v3 against the local stack, every client with default settings
// (Kinesis: HTTP/2 with prior knowledge; DynamoDB: HTTP/1.1 keep-alive). Endpoint, region and
// credentials come from the standard variables (AWS_ENDPOINT_URL, AWS_REGION,
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY). Prints one JSON line of what it observed; the
// Python test (tests/integration/local/test_sdk_js.py) judges it.
import {
  KinesisClient,
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  ListShardsCommand,
  PutRecordsCommand,
  GetShardIteratorCommand,
  GetRecordsCommand,
} from "@aws-sdk/client-kinesis";
import {
  DynamoDBClient,
  CreateTableCommand,
  BatchWriteItemCommand,
  GetItemCommand,
} from "@aws-sdk/client-dynamodb";

const suffix = process.argv[2] ?? String(Date.now());
const streamName = `sdk-js-${suffix}`;
const tableName = `sdk-js-${suffix}`;
const kinesis = new KinesisClient({});
const dynamodb = new DynamoDBClient({});
const result = {};

async function kinesisPutThrottleReadBack() {
  await kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: 1 }));
  for (let i = 0; i < 50; i++) {
    const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
    if (summary.StreamDescriptionSummary.StreamStatus === "ACTIVE") break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // 3,000 records at once on one shard (1,000 records/s): the shard must refuse some.
  const calls = [];
  for (let c = 0; c < 6; c++) {
    const records = [];
    for (let i = 0; i < 500; i++) {
      records.push({ Data: new TextEncoder().encode(`{"n":${c * 500 + i}}`), PartitionKey: `k${c}-${i}` });
    }
    calls.push(kinesis.send(new PutRecordsCommand({ StreamName: streamName, Records: records })));
  }
  const answers = await Promise.all(calls);
  const accepted = new Set();
  let throttled = 0;
  const errorCodes = new Set();
  for (const answer of answers) {
    for (const record of answer.Records) {
      if (record.SequenceNumber) accepted.add(record.SequenceNumber);
      else {
        throttled += 1;
        errorCodes.add(record.ErrorCode);
      }
    }
  }
  const shards = await kinesis.send(new ListShardsCommand({ StreamName: streamName }));
  let iterator = (
    await kinesis.send(
      new GetShardIteratorCommand({
        StreamName: streamName,
        ShardId: shards.Shards[0].ShardId,
        ShardIteratorType: "TRIM_HORIZON",
      }),
    )
  ).ShardIterator;
  const readBack = new Set();
  for (let i = 0; i < 20 && iterator && readBack.size < accepted.size; i++) {
    let page;
    try {
      page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10000 }));
    } catch (error) {
      if (error.name !== "ProvisionedThroughputExceededException") throw error;
      await new Promise((resolve) => setTimeout(resolve, 300));
      continue;
    }
    for (const record of page.Records) readBack.add(record.SequenceNumber);
    iterator = page.NextShardIterator;
  }
  result.kinesis = {
    sent: 3000,
    accepted: accepted.size,
    throttled,
    error_codes: [...errorCodes],
    read_back: readBack.size,
    read_back_matches: [...accepted].every((s) => readBack.has(s)) && readBack.size === accepted.size,
    handler: kinesis.config.requestHandler.constructor.name,
  };
}

async function dynamodbPutThrottleReadBack() {
  await dynamodb.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [{ AttributeName: "event_id", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "event_id", KeyType: "HASH" }],
      ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 },
    }),
  );
  const written = [];
  let unprocessed = 0;
  for (let call = 0; call < 4; call++) {
    const items = [];
    for (let i = 0; i < 25; i++) {
      const id = `evt-${call}-${i}`;
      items.push({ PutRequest: { Item: { event_id: { S: id }, n: { N: String(i) } } } });
    }
    const answer = await dynamodb.send(
      new BatchWriteItemCommand({ RequestItems: { [tableName]: items } }),
    ).catch((error) => ({ error }));
    if (answer.error) {
      if (answer.error.name !== "ProvisionedThroughputExceededException") throw answer.error;
      unprocessed += 25;
      continue;
    }
    const left = new Set(
      (answer.UnprocessedItems?.[tableName] ?? []).map((r) => r.PutRequest.Item.event_id.S),
    );
    unprocessed += left.size;
    for (const item of items) {
      if (!left.has(item.PutRequest.Item.event_id.S)) written.push(item.PutRequest.Item.event_id.S);
    }
  }
  let readBack = 0;
  for (const id of written.slice(0, 5)) {
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        const got = await dynamodb.send(
          new GetItemCommand({ TableName: tableName, Key: { event_id: { S: id } }, ConsistentRead: true }),
        );
        if (got.Item?.event_id?.S === id) readBack += 1;
        break;
      } catch (error) {
        if (error.name !== "ProvisionedThroughputExceededException") throw error;
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    }
  }
  result.dynamodb = {
    handler: dynamodb.config.requestHandler.constructor.name,
    sent: 100,
    written: written.length,
    unprocessed,
    read_back_of_first_5: readBack,
  };
}

try {
  await kinesisPutThrottleReadBack();
  await dynamodbPutThrottleReadBack();
  console.log(JSON.stringify(result));
} catch (error) {
  console.log(JSON.stringify({ ...result, error: `${error.name}: ${error.message}`, code: error.code }));
  process.exitCode = 1;
} finally {
  kinesis.destroy();
  dynamodb.destroy();
}
