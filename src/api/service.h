// The Kinesis operations as an interface. The engine implements it; the wire pipeline
// (pipeline.h) and the in-process client transport call it. Implementations must be
// thread-safe and must not throw.
#pragma once

#include "api/types.h"
#include "common/status.h"

namespace cinesis::api {

class KinesisService {
 public:
  virtual ~KinesisService() = default;

  virtual Status CreateStream(const CreateStreamInput& in) = 0;
  virtual Status DeleteStream(const DeleteStreamInput& in) = 0;
  virtual Result<DescribeStreamOutput> DescribeStream(const DescribeStreamInput& in) = 0;
  virtual Result<DescribeStreamSummaryOutput> DescribeStreamSummary(
      const DescribeStreamSummaryInput& in) = 0;
  virtual Result<ListStreamsOutput> ListStreams(const ListStreamsInput& in) = 0;
  virtual Result<ListShardsOutput> ListShards(const ListShardsInput& in) = 0;
  virtual Result<PutRecordOutput> PutRecord(const PutRecordInput& in) = 0;
  virtual Result<PutRecordsOutput> PutRecords(const PutRecordsInput& in) = 0;
  virtual Result<GetShardIteratorOutput> GetShardIterator(const GetShardIteratorInput& in) = 0;
  virtual Result<GetRecordsOutput> GetRecords(const GetRecordsInput& in) = 0;
  virtual Status IncreaseStreamRetentionPeriod(const UpdateRetentionPeriodInput& in) = 0;
  virtual Status DecreaseStreamRetentionPeriod(const UpdateRetentionPeriodInput& in) = 0;
};

}  // namespace cinesis::api
