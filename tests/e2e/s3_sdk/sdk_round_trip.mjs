// Drives the AWS SDK for JavaScript v3 against a Nexus S3 listener, with the
// SDK's defaults: since 3.729 it adds a CRC32 checksum to every upload, sent
// as an aws-chunked body with the checksum in a trailer
// (STREAMING-UNSIGNED-PAYLOAD-TRAILER), and asks for and checks checksums on
// download. Each step prints one JSON line the test reads; the first
// exception ends the run with its name and message on stderr and exit 1.
//
// Usage: node sdk_round_trip.mjs <endpoint> <bucket> <file> (keys in
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
import { createHash } from "node:crypto";
import { createReadStream, readFileSync, statSync } from "node:fs";

import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";

const [endpoint, bucket, file] = process.argv.slice(2);
const s3 = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, maxAttempts: 1 });
const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");
const say = (step, fields) => console.log(JSON.stringify({ step, ...fields }));

async function bodySha256(body) {
  const hash = createHash("sha256");
  let size = 0;
  for await (const piece of body) {
    hash.update(piece);
    size += piece.length;
  }
  return { sha256: hash.digest("hex"), size };
}

async function main() {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  say("create-bucket", {});

  const small = Buffer.from("hello from the v3 SDK\n");
  const put = await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: "small.txt", Body: small, ContentType: "text/plain" }),
  );
  say("put-small", { etag: put.ETag, crc32: put.ChecksumCRC32 ?? null });

  // A stream of unknown length: the SDK must send it aws-chunked.
  const streamed = await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: "streamed.bin",
      Body: createReadStream(file),
      ContentLength: statSync(file).size,
    }),
  );
  say("put-stream", { etag: streamed.ETag, crc32: streamed.ChecksumCRC32 ?? null });

  // lib-storage's Upload: multipart above its 5 MiB part size.
  const upload = new Upload({
    client: s3,
    params: { Bucket: bucket, Key: "multi/big.bin", Body: createReadStream(file) },
    partSize: 5 * 1024 * 1024,
    queueSize: 2,
  });
  const done = await upload.done();
  say("upload-multipart", { etag: done.ETag });

  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "small.txt" }));
  say("head", { size: head.ContentLength, type: head.ContentType, etag: head.ETag });

  for (const key of ["small.txt", "streamed.bin", "multi/big.bin"]) {
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: "ENABLED" }));
    say("get", { key, crc32: got.ChecksumCRC32 ?? null, ...(await bodySha256(got.Body)) });
  }

  const list = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  say("list", { keys: (list.Contents ?? []).map((o) => o.Key) });

  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "small.txt" }));
  say("delete", {});
  say("expect", { file_sha256: sha256(readFileSync(file)), small_sha256: sha256(small) });
}

main().catch((err) => {
  console.error(`${err.name}: ${err.message}`);
  if (err.$response) console.error(`status ${err.$metadata?.httpStatusCode}`);
  process.exit(1);
});
