// Engine::run_job: one-shot work between steps (logits and traces of whole inputs, adapter loads,
// training steps).
#include "core/fault_injection.h"
#include "core/mapping_guard.h"
#include "runtime/engine.h"
#include "runtime/engine_reports.h"
#include "runtime/lora/lora_adapter.h"

namespace wenxin::runtime {

JobResult Engine::run_job(const JobRequest& job) {
  JobResult result;
  result.id = job.id;
  try {
    if (job.kind == JobRequest::Kind::kTask)
      result = job.task(*pool_);  // a training step: its own status and outputs
    else
      result.status = run_job(job, &result.outputs);
  } catch (...) {  // this job fails; the engine and the other requests go on
    result = JobResult{};
    result.status = internal_error(job.kind == JobRequest::Kind::kLoadAdapter ? "loading the adapter"
                                   : job.kind == JobRequest::Kind::kTask      ? "the task"
                                                                              : "the job");
  }
  result.id = job.id;
  // Results read from a weight file truncated under its mapping are discarded (core/mapping_guard.h).
  if (result.status.is_ok() && mapping_guard::fault_count() != 0) result.status = model_->check_files();
  if (!result.status.is_ok()) result.outputs.clear();
  return result;
}

Status Engine::run_job(const JobRequest& job, std::vector<std::pair<std::string, std::vector<float>>>* outputs) {
  // Adapter changes run here, on the engine thread, so no step ever sees a half-loaded adapter.
  // The adapter's cached prefixes were computed with its old weights (or none): they go.
  if (job.kind == JobRequest::Kind::kLoadAdapter) {
    testing::fault_point(testing::FaultSite::kAdapterLoad, job.adapter);
    WENXIN_RETURN_IF_ERROR(load_lora_adapter(*model_, job.adapter, job.modules));
    kv_pool_->forget_adapter(job.adapter);
    return Status::ok();
  }
  if (job.kind == JobRequest::Kind::kUnloadAdapter) {
    unload_lora_adapter(*model_, job.adapter);
    kv_pool_->forget_adapter(job.adapter);
    return Status::ok();
  }
  for (const auto& ids : job.inputs) {
    kv::KvSequence cache(kv_pool_.get());
    WENXIN_RETURN_IF_ERROR(cache.reserve(static_cast<int64_t>(ids.size())));
    model::Batch batch;
    for (size_t i = 0; i < ids.size(); ++i) batch.add(ids[i], static_cast<int32_t>(i), &cache, true, job.adapter);
    model::Trace trace;
    model::StepOutput out;
    out.trace = job.kind == JobRequest::Kind::kTrace ? &trace : nullptr;
    model_->forward(batch, &out, *pool_);
    outputs->emplace_back("logits", std::move(out.logits));
    for (auto& t : trace.tensors) outputs->push_back(std::move(t));
  }
  return Status::ok();
}

}  // namespace wenxin::runtime
