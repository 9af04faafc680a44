#include "gateway/formats/multipart.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace nexus::gateway {
namespace {

constexpr char kType[] = "multipart/form-data; boundary=XyZ";

struct Part {
  std::string name;
  std::optional<std::string> filename;
  std::string content_type;
  std::string data;
  bool ended = false;

  bool operator==(const Part&) const = default;
};

struct Outcome {
  std::vector<Part> parts;
  Status status;
};

// Parses `body` fed as the given slices, through the pull API.
Outcome ParseSlices(const std::vector<std::string>& slices, std::string_view type = kType,
                    MultipartLimits limits = {}) {
  Outcome out;
  auto parser = MultipartParser::Create(type, limits);
  if (!parser.ok()) {
    out.status = parser.status();
    return out;
  }
  size_t next = 0;
  while (true) {
    auto ev = parser->Next();
    if (!ev.ok()) {
      out.status = ev.status();
      return out;
    }
    switch (ev->type) {
      case MultipartEventType::kNeedMore:
        if (next < slices.size()) {
          parser->Feed(slices[next++]);
        } else {
          parser->FinishInput();
        }
        break;
      case MultipartEventType::kPartBegin:
        out.parts.push_back(
            Part{ev->part->name, ev->part->filename, ev->part->content_type, "", false});
        break;
      case MultipartEventType::kPartData:
        EXPECT_FALSE(ev->data.empty());
        out.parts.back().data.append(ev->data);
        break;
      case MultipartEventType::kPartEnd:
        out.parts.back().ended = true;
        break;
      case MultipartEventType::kDone:
        return out;
    }
  }
}

Outcome ParseWhole(const std::string& body, std::string_view type = kType,
                   MultipartLimits limits = {}) {
  return ParseSlices({body}, type, limits);
}

std::vector<std::string> SplitEvery(const std::string& body, size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < body.size(); i += n) out.push_back(body.substr(i, n));
  return out;
}

// A body whose content is full of near-boundaries: CR, LF, "--", "--Xy".
const std::string kTrickyBody =
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"path\"\r\n"
    "\r\n"
    "/docs/report.pdf\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"r.bin\"\r\n"
    "Content-Type: application/octet-stream\r\n"
    "\r\n"
    "line one\r\n--Xy\r\n-\r\r\n\r\n--XyY is not it\n--XyZ either\r--\r\n"
    "\r\n"
    "--XyZ--\r\n";

const std::vector<Part> kTrickyParts = {
    {"path", std::nullopt, "", "/docs/report.pdf", true},
    {"file", "r.bin", "application/octet-stream",
     "line one\r\n--Xy\r\n-\r\r\n\r\n--XyY is not it\n--XyZ either\r--\r\n", true},
};

TEST(MultipartBoundaryTest, ExtractsQuotedAndUnquotedBoundaries) {
  struct Case {
    std::string type;
    std::string boundary;
  };
  const Case cases[] = {
      {"multipart/form-data; boundary=abc", "abc"},
      {"multipart/form-data;boundary=abc;charset=utf-8", "abc"},
      {"Multipart/Form-Data; BOUNDARY=abc", "abc"},
      {"multipart/form-data; boundary=\"a b:c?\"", "a b:c?"},
      {"multipart/form-data; charset=\"x;y\"; boundary=----WebKitFormBoundary7MA4YWxk",
       "----WebKitFormBoundary7MA4YWxk"},
      {"multipart/form-data; boundary=" + std::string(70, 'b'), std::string(70, 'b')},
  };
  for (const auto& c : cases) {
    auto b = MultipartBoundary(c.type);
    ASSERT_TRUE(b.ok()) << c.type << ": " << b.status().ToString();
    EXPECT_EQ(*b, c.boundary) << c.type;
  }
}

TEST(MultipartBoundaryTest, RejectsMissingOrInvalidBoundaries) {
  const std::string cases[] = {
      "multipart/form-data",
      "multipart/form-data; boundary=",
      "multipart/form-data; boundary=\"\"",
      "multipart/form-data; boundary=\"unterminated",
      "multipart/form-data; boundary=" + std::string(71, 'b'),
      "multipart/form-data; boundary=\"trailing \"",
      "multipart/form-data; boundary=bad\"quote",
      "multipart/form-data; boundary=semi\x01colon",
      "multipart/mixed; boundary=abc",
      "application/json",
      "",
  };
  for (const auto& c : cases) {
    auto b = MultipartBoundary(c);
    EXPECT_EQ(b.status().code(), StatusCode::kInvalidArgument) << c;
    EXPECT_EQ(MultipartParser::Create(c).status().code(), StatusCode::kInvalidArgument) << c;
  }
}

TEST(MultipartParserTest, ParsesFieldsAndFiles) {
  const Outcome out = ParseWhole(kTrickyBody);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.parts, kTrickyParts);
}

TEST(MultipartParserTest, GivesTheSameResultWhenSplitAtEveryByteBoundary) {
  for (size_t split = 0; split <= kTrickyBody.size(); ++split) {
    const Outcome out = ParseSlices({kTrickyBody.substr(0, split), kTrickyBody.substr(split)});
    ASSERT_TRUE(out.status.ok()) << "split at " << split << ": " << out.status.ToString();
    EXPECT_EQ(out.parts, kTrickyParts) << "split at " << split;
  }
}

TEST(MultipartParserTest, GivesTheSameResultFedByteByByteOrInOddSlices) {
  for (size_t n : {1, 2, 3, 5, 7, 13}) {
    const Outcome out = ParseSlices(SplitEvery(kTrickyBody, n));
    ASSERT_TRUE(out.status.ok()) << "slices of " << n << ": " << out.status.ToString();
    EXPECT_EQ(out.parts, kTrickyParts) << "slices of " << n;
  }
}

TEST(MultipartParserTest, FindsBoundariesInLongContentFullOfNearMissesHoweverItIsSliced) {
  // Pseudo-random bytes (a CR every ~256) with cut delimiters sprinkled in.
  std::string content;
  uint32_t x = 12345;
  const std::string near_misses[] = {"\r\n--Xy", "\r\n--X\r\n--XyQ", "\r\r\n-", "\r\n--XY"};
  for (int i = 0; i < 20000; ++i) {
    x = x * 1103515245 + 12345;
    content.push_back(static_cast<char>(x >> 24));
    if (i % 997 == 0) content += near_misses[(i / 997) % 4];
  }
  const std::string body =
      "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r.bin\"\r\n\r\n" +
      content + "\r\n--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n" +
      content.substr(0, 5000) + "\r\n--XyZ--\r\n";
  const std::vector<Part> expected = {{"file", "r.bin", "", content, true},
                                      {"note", std::nullopt, "", content.substr(0, 5000), true}};
  for (size_t n : {1, 6, 7, 8, 9, 64, 4095, 65536}) {
    const Outcome out = ParseSlices(SplitEvery(body, n));
    ASSERT_TRUE(out.status.ok()) << "slices of " << n << ": " << out.status.ToString();
    EXPECT_EQ(out.parts, expected) << "slices of " << n;
  }
}

TEST(MultipartParserTest, IgnoresPreambleAndEpilogue) {
  const std::string body =
      "This is the preamble.\r\nIt says --XyZ is coming\r\n"
      "--XyZ\r\n"
      "Content-Disposition: form-data; name=\"a\"\r\n\r\n"
      "1\r\n"
      "--XyZ--   \r\n"
      "This is the epilogue. --XyZ\r\nContent-Disposition: nonsense\r\n";
  for (size_t n : {1, 4, 1000}) {
    const Outcome out = ParseSlices(SplitEvery(body, n));
    ASSERT_TRUE(out.status.ok()) << out.status.ToString();
    ASSERT_EQ(out.parts.size(), 1u);
    EXPECT_EQ(out.parts[0].data, "1");
  }
}

TEST(MultipartParserTest, AcceptsTransportPaddingAfterABoundary) {
  const Outcome out = ParseWhole(
      "--XyZ \t \r\n"
      "Content-Disposition: form-data; name=\"a\"\r\n\r\n"
      "x\r\n--XyZ--");
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.parts[0].data, "x");
}

TEST(MultipartParserTest, UnfoldsObsoleteHeaderFolding) {
  const Outcome out = ParseWhole(
      "--XyZ\r\n"
      "Content-Disposition: form-data;\r\n"
      "\tname=\"folded\";\r\n"
      "  filename=\"f.txt\"\r\n"
      "\r\n"
      "data\r\n--XyZ--\r\n");
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.parts[0].name, "folded");
  EXPECT_EQ(out.parts[0].filename, "f.txt");
}

TEST(MultipartParserTest, RejectsAContinuationLineWithNothingToContinue) {
  const Outcome out = ParseWhole(
      "--XyZ\r\n"
      " Content-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--XyZ--");
  EXPECT_EQ(out.status.code(), StatusCode::kInvalidArgument);
}

TEST(MultipartParserTest, DecodesRfc5987FileNames) {
  struct Case {
    std::string disposition;
    std::optional<std::string> filename;
  };
  const Case cases[] = {
      {"form-data; name=\"f\"; filename*=UTF-8''%e2%82%ac%20rates.txt", "\xe2\x82\xac rates.txt"},
      {"form-data; name=\"f\"; filename=\"fallback.txt\"; filename*=utf-8'en'na%C3%AFve.txt",
       "na\xc3\xafve.txt"},
      {"form-data; name=\"f\"; filename*=ISO-8859-1''caf%E9.txt", "caf\xc3\xa9.txt"},
      // Unusable filename* (bad charset, bad escape, invalid UTF-8): fall back.
      {"form-data; name=\"f\"; filename=\"plain.txt\"; filename*=KOI8-R''%C1", "plain.txt"},
      {"form-data; name=\"f\"; filename=\"plain.txt\"; filename*=UTF-8''%zz", "plain.txt"},
      {"form-data; name=\"f\"; filename=\"plain.txt\"; filename*=UTF-8''%ff", "plain.txt"},
      {"form-data; name=\"f\"; filename*=UTF-8''%e2%82", std::nullopt},
      {"form-data; name=\"f\"; filename=\"C:\\Users\\al\\a.txt\"", "C:\\Users\\al\\a.txt"},
      {"form-data; name=\"f\"; filename=\"say \\\"hi\\\".txt\"", "say \"hi\".txt"},
      {"form-data; name=\"f\"; filename=\"\"", ""},
      {"form-data; name=\"f\"; filename=unquoted.txt", "unquoted.txt"},
      {"form-data; name=\"f\"", std::nullopt},
  };
  for (const auto& c : cases) {
    const Outcome out =
        ParseWhole("--XyZ\r\nContent-Disposition: " + c.disposition + "\r\n\r\nx\r\n--XyZ--\r\n");
    ASSERT_TRUE(out.status.ok()) << c.disposition << ": " << out.status.ToString();
    EXPECT_EQ(out.parts[0].filename, c.filename) << c.disposition;
    EXPECT_EQ(out.parts[0].name, "f");
  }
}

TEST(MultipartParserTest, WorksWithAQuotedBoundaryContainingSpaces) {
  const Outcome out = ParseWhole(
      "--my boundary\r\n"
      "Content-Disposition: form-data; name=\"a\"\r\n\r\n"
      "v\r\n--my boundary--\r\n",
      "multipart/form-data; boundary=\"my boundary\"");
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.parts[0].data, "v");
}

TEST(MultipartParserTest, HandlesEmptyPartsAndEmptyForms) {
  Outcome out =
      ParseWhole("--XyZ\r\nContent-Disposition: form-data; name=\"empty\"\r\n\r\n\r\n--XyZ--");
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  ASSERT_EQ(out.parts.size(), 1u);
  EXPECT_EQ(out.parts[0].data, "");
  EXPECT_TRUE(out.parts[0].ended);

  out = ParseWhole("--XyZ--\r\n");
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_TRUE(out.parts.empty());
}

TEST(MultipartParserTest, ReportsMalformedBodies) {
  struct Case {
    const char* what;
    std::string body;
  };
  const std::string cd = "Content-Disposition: form-data; name=\"a\"\r\n";
  const Case cases[] = {
      {"empty body", ""},
      {"no boundary at all", "just some text"},
      {"missing final boundary", "--XyZ\r\n" + cd + "\r\ndata"},
      {"missing final boundary after the part", "--XyZ\r\n" + cd + "\r\ndata\r\n--XyZ\r\n"},
      {"ends inside headers", "--XyZ\r\n" + cd},
      {"ends on the boundary line", "--XyZ\r\n" + cd + "\r\nx\r\n--XyZ"},
      {"garbage after boundary", "--XyZgarbage\r\n" + cd + "\r\nx\r\n--XyZ--"},
      {"single dash close", "--XyZ\r\n" + cd + "\r\nx\r\n--XyZ-\r\n"},
      {"LF-only boundary line", "--XyZ\n" + cd + "\r\nx\r\n--XyZ--"},
      {"header without colon", "--XyZ\r\nno colon here\r\n\r\nx\r\n--XyZ--"},
      {"header name with space", "--XyZ\r\nBad Name: v\r\n" + cd + "\r\nx\r\n--XyZ--"},
      {"bare LF inside headers", "--XyZ\r\n" + cd + "X-A: 1\nX-B: 2\r\n\r\nx\r\n--XyZ--"},
      {"NUL in header", "--XyZ\r\n" + cd + std::string("X-A: \0\r\n", 8) + "\r\nx\r\n--XyZ--"},
      {"no Content-Disposition", "--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--"},
      {"no headers at all", "--XyZ\r\n\r\nx\r\n--XyZ--"},
      {"not form-data", "--XyZ\r\nContent-Disposition: attachment\r\n\r\nx\r\n--XyZ--"},
      {"unterminated quote",
       "--XyZ\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--XyZ--"},
  };
  for (const auto& c : cases) {
    for (size_t n : {size_t{1}, size_t{1000}}) {
      const Outcome out = ParseSlices(SplitEvery(c.body, n));
      EXPECT_EQ(out.status.code(), StatusCode::kInvalidArgument)
          << c.what << " (slices of " << n << ")";
      EXPECT_FALSE(out.status.message().empty());
    }
  }
}

TEST(MultipartParserTest, MissingFinalBoundaryNamesTheProblem) {
  const Outcome out =
      ParseWhole("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\ntruncated upl");
  EXPECT_EQ(out.status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(out.status.message().find("final boundary"), std::string::npos) << out.status.message();
  ASSERT_EQ(out.parts.size(), 1u);
  EXPECT_FALSE(out.parts[0].ended);
}

TEST(MultipartParserTest, RejectsAHeaderBlockOverTheLimit) {
  const std::string huge = "X-Big: " + std::string(20 * 1024, 'h') + "\r\n";
  const std::string body =
      "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n" + huge + "\r\nx\r\n--XyZ--";
  for (size_t n : {size_t{1}, size_t{4096}, body.size()}) {
    const Outcome out = ParseSlices(SplitEvery(body, n));
    EXPECT_EQ(out.status.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(out.status.message().find("exceed"), std::string::npos) << out.status.message();
  }
  // A header block that does not end at all is caught at the limit as well.
  const Outcome endless = ParseWhole("--XyZ\r\nX: " + std::string(1 << 20, 'y'));
  EXPECT_NE(endless.status.message().find("exceed"), std::string::npos);
}

TEST(MultipartParserTest, HeaderBlockExactlyAtTheLimitIsAccepted) {
  MultipartLimits limits;
  limits.max_header_bytes = 100;
  std::string headers = "Content-Disposition: form-data; name=\"a\"\r\nX-Pad: ";
  headers += std::string(100 - headers.size() - 4, 'p') + "\r\n\r\n";
  ASSERT_EQ(headers.size(), 100u);
  EXPECT_TRUE(ParseWhole("--XyZ\r\n" + headers + "x\r\n--XyZ--", kType, limits).status.ok());
  headers.insert(headers.find('p'), "p");
  EXPECT_FALSE(ParseWhole("--XyZ\r\n" + headers + "x\r\n--XyZ--", kType, limits).status.ok());
}

TEST(MultipartParserTest, RejectsTooManyHeadersOrParts) {
  MultipartLimits limits;
  limits.max_headers = 3;
  limits.max_parts = 2;
  const std::string part = "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n";
  EXPECT_TRUE(ParseWhole(part + part + "--XyZ--", kType, limits).status.ok());
  const Outcome parts = ParseWhole(part + part + part + "--XyZ--", kType, limits);
  EXPECT_EQ(parts.status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(parts.status.message().find("too many multipart parts"), std::string::npos);

  const Outcome headers = ParseWhole(
      "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"
      "x\r\n--XyZ--",
      kType, limits);
  EXPECT_EQ(headers.status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(headers.status.message().find("too many multipart part headers"), std::string::npos);
}

TEST(MultipartParserTest, DataEventsAreViewsIntoTheFedSlice) {
  const std::string content(100000, 'c');
  const std::string body =
      "--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n" + content + "\r\n--XyZ--\r\n";
  auto parser = MultipartParser::Create(kType);
  ASSERT_TRUE(parser.ok());
  parser->Feed(body);
  size_t data_bytes = 0;
  while (true) {
    auto ev = parser->Next();
    ASSERT_TRUE(ev.ok()) << ev.status().ToString();
    if (ev->type == MultipartEventType::kDone) break;
    ASSERT_NE(ev->type, MultipartEventType::kNeedMore);
    if (ev->type == MultipartEventType::kPartData) {
      EXPECT_GE(ev->data.data(), body.data());
      EXPECT_LE(ev->data.data() + ev->data.size(), body.data() + body.size());
      data_bytes += ev->data.size();
    }
  }
  EXPECT_EQ(data_bytes, content.size());
}

TEST(MultipartParserTest, HoldsBackNoMoreThanADelimiterAcrossSlices) {
  // Each slice ends in what could be the start of a boundary; the parser must
  // release everything else of the slice at once.
  auto parser = MultipartParser::Create(kType);
  ASSERT_TRUE(parser.ok());
  parser->Feed("--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n");
  std::string got;
  auto drain = [&] {
    while (true) {
      auto ev = parser->Next();
      ASSERT_TRUE(ev.ok());
      if (ev->type == MultipartEventType::kNeedMore) return;
      if (ev->type == MultipartEventType::kPartData) got.append(ev->data);
    }
  };
  drain();
  const std::string slice = std::string(5000, 'a') + "\r\n--Xy";
  parser->Feed(slice);
  drain();
  EXPECT_EQ(got.size(), 5000u);
  parser->Feed("Q");  // not the boundary after all: the held bytes are data
  drain();
  EXPECT_EQ(got, std::string(5000, 'a') + "\r\n--XyQ");
}

TEST(MultipartParserTest, CallbackStyleParsingDeliversTheSameParts) {
  std::vector<Part> parts;
  MultipartCallbacks cb;
  cb.on_part_begin = [&](const MultipartPart& p) {
    parts.push_back(Part{p.name, p.filename, p.content_type, "", false});
    return Status::Ok();
  };
  cb.on_part_data = [&](const MultipartPart&, std::string_view d) {
    parts.back().data.append(d);
    return Status::Ok();
  };
  cb.on_part_end = [&](const MultipartPart&) {
    parts.back().ended = true;
    return Status::Ok();
  };
  auto parser = MultipartParser::Create(kType);
  ASSERT_TRUE(parser.ok());
  for (const auto& slice : SplitEvery(kTrickyBody, 9)) ASSERT_TRUE(parser->Parse(slice, cb).ok());
  ASSERT_TRUE(parser->Finish(cb).ok());
  EXPECT_TRUE(parser->done());
  EXPECT_EQ(parts, kTrickyParts);
}

TEST(MultipartParserTest, CallbackErrorStopsParsingAndSticks) {
  MultipartCallbacks cb;
  cb.on_part_data = [](const MultipartPart&, std::string_view) {
    return Status(StatusCode::kQuotaExceeded, "quota");
  };
  auto parser = MultipartParser::Create(kType);
  ASSERT_TRUE(parser.ok());
  EXPECT_EQ(parser->Parse(kTrickyBody, cb).code(), StatusCode::kQuotaExceeded);
  EXPECT_EQ(parser->Finish(cb).code(), StatusCode::kQuotaExceeded);
  EXPECT_FALSE(parser->done());
}

TEST(MultipartParserTest, ExposesAllPartHeadersLowercased) {
  auto parser = MultipartParser::Create(kType);
  ASSERT_TRUE(parser.ok());
  parser->Feed("--XyZ\r\nCONTENT-DISPOSITION: form-data; NAME=\"n\"\r\nX-Custom:  v  \r\n\r\n");
  auto ev = parser->Next();
  ASSERT_TRUE(ev.ok());
  ASSERT_EQ(ev->type, MultipartEventType::kPartBegin);
  EXPECT_EQ(ev->part->name, "n");
  ASSERT_EQ(ev->part->headers.size(), 2u);
  EXPECT_EQ(ev->part->headers[1], (std::pair<std::string, std::string>{"x-custom", "v"}));
}

}  // namespace
}  // namespace nexus::gateway
