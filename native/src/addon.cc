// N-API surface of the addon: argument checking (cheap, naming the argument, never trusting
// the TypeScript layer), the AsyncWorker that runs a kernel off the event loop, and the
// backend dispatch (cpu always; cuda when compiled in and a device answers).
#include <napi.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "coco_dataset.h"
#include "coco_match.h"
#include "coco_accumulate.h"
#include "coco_results.h"
#include "file_bytes.h"
#include "kernel_math.h"
#include "kernels.h"

#ifndef OMNI_BUILD_COMPILER
#define OMNI_BUILD_COMPILER "unknown"
#endif
#ifndef OMNI_BUILD_FLAGS
#define OMNI_BUILD_FLAGS ""
#endif

namespace omni {
namespace {

// ---------------------------------------------------------------------------------------
// Error messages in the house format: `path: expected X, received Y`.

std::string formatNumber(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

std::string describe(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsBoolean()) return std::string(v.As<Napi::Boolean>().Value() ? "true" : "false") + " (boolean)";
  if (v.IsNumber()) return formatNumber(v.As<Napi::Number>().DoubleValue()) + " (number)";
  if (v.IsString()) {
    std::string s = v.As<Napi::String>().Utf8Value();
    if (s.size() > 40) s = s.substr(0, 37) + "...";
    return "\"" + s + "\" (string)";
  }
  if (v.IsTypedArray()) {
    Napi::TypedArray a = v.As<Napi::TypedArray>();
    static const char* names[] = {"Int8Array",  "Uint8Array",   "Uint8ClampedArray", "Int16Array",
                                  "Uint16Array", "Int32Array",  "Uint32Array",       "Float32Array",
                                  "Float64Array", "BigInt64Array", "BigUint64Array"};
    const int type = static_cast<int>(a.TypedArrayType());
    const char* name = type >= 0 && type < 11 ? names[type] : "TypedArray";
    return std::string(name) + " of length " + std::to_string(a.ElementLength());
  }
  if (v.IsArray()) return "an array of length " + std::to_string(v.As<Napi::Array>().Length());
  if (v.IsFunction()) return "a function";
  return "an object";
}

[[noreturn]] void throwType(Napi::Env env, const std::string& path, const std::string& expected, const std::string& received) {
  throw Napi::TypeError::New(env, path + ": expected " + expected + ", received " + received);
}
[[noreturn]] void throwRange(Napi::Env env, const std::string& path, const std::string& expected, const std::string& received) {
  throw Napi::RangeError::New(env, path + ": expected " + expected + ", received " + received);
}

// ---------------------------------------------------------------------------------------
// Argument readers.

Napi::Object expectObject(Napi::Env env, const Napi::Value& v, const std::string& path) {
  if (!v.IsObject() || v.IsArray() || v.IsTypedArray() || v.IsFunction()) throwType(env, path, "an object", describe(v));
  return v.As<Napi::Object>();
}

/** A positive integer no larger than `max` (shape dimensions, thread counts). */
int64_t expectPositiveInt(Napi::Env env, const Napi::Value& v, const std::string& path, int64_t max) {
  if (!v.IsNumber()) throwType(env, path, "a positive integer", describe(v));
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::floor(d) != d) throwType(env, path, "a positive integer", describe(v));
  if (d < 1 || d > static_cast<double>(max)) {
    throwRange(env, path, "an integer in [1, " + std::to_string(max) + "]", describe(v));
  }
  return static_cast<int64_t>(d);
}

template <typename T>
struct ArrayTraits;
template <>
struct ArrayTraits<float> {
  static constexpr napi_typedarray_type type = napi_float32_array;
  static constexpr const char* name = "a Float32Array";
};
template <>
struct ArrayTraits<uint8_t> {
  static constexpr napi_typedarray_type type = napi_uint8_array;
  static constexpr const char* name = "a Uint8Array";
};
template <>
struct ArrayTraits<int32_t> {
  static constexpr napi_typedarray_type type = napi_int32_array;
  static constexpr const char* name = "an Int32Array";
};
template <>
struct ArrayTraits<double> {
  static constexpr napi_typedarray_type type = napi_float64_array;
  static constexpr const char* name = "a Float64Array";
};

/** A typed array of element type T and exactly `length` elements (byteOffset respected). */
template <typename T>
Napi::TypedArrayOf<T> expectArray(Napi::Env env, const Napi::Value& v, const std::string& path, int64_t length) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != ArrayTraits<T>::type) {
    throwType(env, path, ArrayTraits<T>::name, describe(v));
  }
  Napi::TypedArrayOf<T> a = v.As<Napi::TypedArrayOf<T>>();
  if (static_cast<int64_t>(a.ElementLength()) != length) {
    throwRange(env, path, std::to_string(length) + " elements", describe(v));
  }
  if (length > 0 && a.Data() == nullptr) throwRange(env, path, "an attached buffer", "a detached buffer");
  return a;
}

template <typename T>
std::vector<T> copyArray(const Napi::TypedArrayOf<T>& a) {
  return std::vector<T>(a.Data(), a.Data() + a.ElementLength());
}

/** {t?, n, k, m}; dimension caps keep every product far inside int64 and typed-array limits. */
Shape readShape(Napi::Env env, const Napi::Value& v, const std::string& path, bool withT) {
  Napi::Object o = expectObject(env, v, path);
  Shape s;
  s.t = withT ? expectPositiveInt(env, o.Get("t"), path + ".t", 1 << 16) : 1;
  s.n = expectPositiveInt(env, o.Get("n"), path + ".n", 1 << 24);
  s.k = expectPositiveInt(env, o.Get("k"), path + ".k", 1 << 16);
  s.m = expectPositiveInt(env, o.Get("m"), path + ".m", 1 << 12);
  const double total = static_cast<double>(s.t) * s.n * s.k * s.m * s.m;
  if (total > 9007199254740991.0) throwRange(env, path, "at most 2^53 - 1 elements in total", formatNumber(total));
  return s;
}

enum class Backend { Cpu, Cuda };

struct Common {
  Backend backend = Backend::Cpu;
  int threads = 1;
};

Common readCommon(Napi::Env env, const Napi::Object& o, const std::string& path) {
  Common c;
  const Napi::Value b = o.Get("backend");
  const std::string name = b.IsString() ? b.As<Napi::String>().Utf8Value() : "";
  if (name == "cpu") c.backend = Backend::Cpu;
  else if (name == "cuda") c.backend = Backend::Cuda;
  else throwType(env, path + ".backend", "one of \"cpu\", \"cuda\"", describe(b));
  const Napi::Value t = o.Get("threads");
  c.threads = t.IsUndefined() ? cpu::defaultThreads() : static_cast<int>(expectPositiveInt(env, t, path + ".threads", 1024));
  return c;
}

EnsembleSpec readEnsemble(Napi::Env env, const Napi::Object& o, const Shape& s, const std::string& path) {
  EnsembleSpec e;
  const Napi::Value mode = o.Get("mode");
  const std::string m = mode.IsString() ? mode.As<Napi::String>().Utf8Value() : "";
  if (m == "avg") e.mode = Mode::Avg;
  else if (m == "max") e.mode = Mode::Max;
  else throwType(env, path + ".mode", "one of \"avg\", \"max\"", describe(mode));

  e.flipped = copyArray(expectArray<uint8_t>(env, o.Get("flipped"), path + ".flipped", s.t));
  e.perm = copyArray(expectArray<int32_t>(env, o.Get("perm"), path + ".perm", s.k));
  for (int64_t c = 0; c < s.k; ++c) {
    const int32_t p = e.perm[static_cast<size_t>(c)];
    if (p < 0 || p >= s.k || e.perm[static_cast<size_t>(p)] != c) {
      throwRange(env, path + ".perm[" + std::to_string(c) + "]",
                 "a channel in [0, " + std::to_string(s.k - 1) + "] forming an involution (flip pairs)",
                 std::to_string(p) + " (number)");
    }
  }
  const Napi::Value w = o.Get("weights");
  if (w.IsUndefined()) {
    e.weights.assign(static_cast<size_t>(s.t), 1.0f);
  } else {
    if (e.mode != Mode::Avg) throwType(env, path + ".weights", "undefined in \"max\" mode (weights only apply to \"avg\")", describe(w));
    e.weights = copyArray(expectArray<float>(env, w, path + ".weights", s.t));
    for (int64_t t = 0; t < s.t; ++t) {
      const float x = e.weights[static_cast<size_t>(t)];
      if (!(std::isfinite(x) && x >= 0)) {
        throwRange(env, path + ".weights[" + std::to_string(t) + "]", "a finite number >= 0", formatNumber(x) + " (number)");
      }
    }
  }
  const Napi::Value mask = o.Get("mask");
  if (!mask.IsUndefined()) e.mask = copyArray(expectArray<uint8_t>(env, mask, path + ".mask", s.t * s.n));
  // Every RoI needs at least one transform (and, for avg, a positive weight sum).
  for (int64_t n = 0; n < s.n; ++n) {
    float weightSum = 0.0f;
    bool any = false;
    for (int64_t t = 0; t < s.t; ++t) {
      if (!e.included(t, n, s.n)) continue;
      any = true;
      weightSum += e.weights[static_cast<size_t>(t)];
    }
    if (!any) throwRange(env, path + ".mask", "at least one transform for RoI " + std::to_string(n), "none");
    if (e.mode == Mode::Avg && !(weightSum > 0)) {
      throwRange(env, path + ".weights", "a positive weight sum over the transforms of RoI " + std::to_string(n), formatNumber(weightSum) + " (number)");
    }
  }
  return e;
}

/** RoIs [N, 4]: finite, not inverted (x2 >= x1, y2 >= y1; zero size is fine), bounded size. */
std::vector<float> readRois(Napi::Env env, const Napi::Value& v, const std::string& path, int64_t n) {
  std::vector<float> rois = copyArray(expectArray<float>(env, v, path, n * 4));
  for (int64_t i = 0; i < n; ++i) {
    const float* r = rois.data() + i * 4;
    const std::string at = path + "[" + std::to_string(i) + "]";
    for (int j = 0; j < 4; ++j) {
      if (!std::isfinite(r[j])) throwRange(env, at, "finite [x1, y1, x2, y2]", formatNumber(r[j]) + " (number) at index " + std::to_string(j));
    }
    if (r[2] < r[0]) throwRange(env, at, "x2 >= x1 (an inverted RoI is an error)", "x1 = " + formatNumber(r[0]) + ", x2 = " + formatNumber(r[2]));
    if (r[3] < r[1]) throwRange(env, at, "y2 >= y1 (an inverted RoI is an error)", "y1 = " + formatNumber(r[1]) + ", y2 = " + formatNumber(r[3]));
    const RoiGeometry g = roiGeometry(r);
    if (g.W > kMaxRoiSide || g.H > kMaxRoiSide) {
      throwRange(env, at, "sides of at most " + std::to_string(kMaxRoiSide) + " px", formatNumber(g.w) + " x " + formatNumber(g.h));
    }
  }
  return rois;
}

// ---------------------------------------------------------------------------------------
// Locating the first non-finite value after a kernel saw one (error path only).

std::string nonFiniteMessage(const std::string& path, const float* data, const Shape& s, const EnsembleSpec* e) {
  const int64_t slab = s.k * s.mapSize();
  for (int64_t t = 0; t < s.t; ++t) {
    for (int64_t n = 0; n < s.n; ++n) {
      if (e && !e->included(t, n, s.n)) continue;
      const int64_t base = (t * s.n + n) * slab;
      for (int64_t i = 0; i < slab; ++i) {
        const float v = data[base + i];
        if (!std::isfinite(v)) {
          return path + "[" + std::to_string(base + i) + "]: expected a finite number, received " + formatNumber(v) + " (number)";
        }
      }
    }
  }
  return path + ": expected finite values (a combined value overflowed float32)";
}

// ---------------------------------------------------------------------------------------
// CUDA availability, probed once.

#ifdef OMNI_WITH_CUDA
const cuda::Probe& cudaProbe() {
  static std::once_flag once;
  static cuda::Probe probe;
  std::call_once(once, [] { probe = cuda::probe(); });
  return probe;
}
#endif

/** Throws an Error (code OMNI_BACKEND_UNAVAILABLE) when `backend` cannot run here. */
void requireBackend(Napi::Env env, Backend backend) {
  if (backend == Backend::Cpu) return;
#ifdef OMNI_WITH_CUDA
  const cuda::Probe& p = cudaProbe();
  if (p.usable) return;
  Napi::Error err = Napi::Error::New(env, "backend \"cuda\": compiled but no device: " + p.reason);
#else
  Napi::Error err = Napi::Error::New(env, "backend \"cuda\": not compiled (nvcc was not found when the addon was built)");
#endif
  err.Set("code", Napi::String::New(env, "OMNI_BACKEND_UNAVAILABLE"));
  throw err;
}

// ---------------------------------------------------------------------------------------
// The worker: inputs are held by reference (zero copy), outputs are allocated on the main
// thread before queueing, Execute touches only raw pointers and plain C++ values.

class KernelWorker : public Napi::AsyncWorker {
 public:
  using Job = std::function<void(Timing&)>;

  KernelWorker(Napi::Env env, Job job)
      : Napi::AsyncWorker(env, "omnidistill:kernel"), deferred_(Napi::Promise::Deferred::New(env)), job_(std::move(job)) {}

  void keep(const Napi::Value& v) { inputs_.emplace_back(Napi::Persistent(v)); }
  void output(const std::string& name, const Napi::Value& v) { outputs_.emplace_back(name, Napi::Persistent(v)); }
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      job_(timing_);
    } catch (const InputError& e) {
      failure_ = Failure::Input;
      message_ = e.what();
    } catch (const std::exception& e) {
      failure_ = Failure::Internal;
      message_ = e.what();
    } catch (...) {
      failure_ = Failure::Internal;
      message_ = "unknown native failure";
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (failure_ == Failure::Input) {
      deferred_.Reject(Napi::RangeError::New(env, message_).Value());
    } else if (failure_ == Failure::Internal) {
      deferred_.Reject(Napi::Error::New(env, message_).Value());
    } else {
      Napi::Object result = Napi::Object::New(env);
      for (auto& [name, ref] : outputs_) result.Set(name, ref.Value());
      result.Set("kernelMs", Napi::Number::New(env, timing_.kernelMs));
      result.Set("totalMs", Napi::Number::New(env, timing_.totalMs));
      deferred_.Resolve(result);
    }
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  enum class Failure { None, Input, Internal };
  Napi::Promise::Deferred deferred_;
  Job job_;
  Timing timing_;
  Failure failure_ = Failure::None;
  std::string message_;
  std::vector<Napi::Reference<Napi::Value>> inputs_;
  std::vector<std::pair<std::string, Napi::Reference<Napi::Value>>> outputs_;
};

double msSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

/** Runs `cpuWork` timed, or `cudaWork` (which times itself); turns a non-finite flag into an InputError. */
void runTimed(Backend backend, Timing& timing, const std::function<void(bool*)>& cpuWork,
              const std::function<void(bool*, Timing*)>& cudaWork, const std::function<std::string()>& nonFiniteMsg) {
  bool nonFinite = false;
  if (backend == Backend::Cpu) {
    const auto start = std::chrono::steady_clock::now();
    cpuWork(&nonFinite);
    timing.kernelMs = timing.totalMs = msSince(start);
  } else {
    cudaWork(&nonFinite, &timing);
  }
  if (nonFinite) throw InputError(nonFiniteMsg());
}

// Without CUDA the cuda branch is unreachable (requireBackend throws first); the lambda
// parameters are then unused, which is fine.
#ifdef OMNI_WITH_CUDA
#define OMNI_CUDA_CALL(expr) expr
#else
#define OMNI_CUDA_CALL(expr) ((void)bad, (void)t, throw std::logic_error("cuda backend not compiled"))
#endif

void checkCudaMapSide(Napi::Env env, Backend backend, const Shape& s, const std::string& path) {
#ifdef OMNI_WITH_CUDA
  if (backend == Backend::Cuda && s.m > cuda::maxFusedMapSide()) {
    throwRange(env, path, "M <= " + std::to_string(cuda::maxFusedMapSide()) + " on the cuda backend (shared-memory scratch)",
               std::to_string(s.m) + " (number)");
  }
#else
  (void)env, (void)backend, (void)s, (void)path;
#endif
}

// ---------------------------------------------------------------------------------------
// Exported functions.

/** ensembleHeatmaps(heatmaps, {t,n,k,m}, {mode, flipped, perm, weights?, mask?, backend, threads?}) */
Napi::Value EnsembleHeatmaps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Shape s = readShape(env, info[1], "shape", true);
  auto heat = expectArray<float>(env, info[0], "heatmaps", s.elements());
  Napi::Object o = expectObject(env, info[2], "options");
  const Common c = readCommon(env, o, "options");
  auto e = std::make_shared<EnsembleSpec>(readEnsemble(env, o, s, "options"));
  requireBackend(env, c.backend);
  const Shape outShape{1, s.n, s.k, s.m};
  // Optional caller-owned output (reused across calls: no allocation, no fresh-page faults).
  const Napi::Value given = o.Get("output");
  Napi::Float32Array out = given.IsUndefined() ? Napi::Float32Array::New(env, static_cast<size_t>(outShape.elements()))
                                               : expectArray<float>(env, given, "options.output", outShape.elements());
  if (!given.IsUndefined()) {
    const float* a = heat.Data();
    const float* b = out.Data();
    if (b < a + s.elements() && a < b + outShape.elements()) {
      throwRange(env, "options.output", "a buffer that does not overlap heatmaps", describe(given));
    }
  }
  const float* in = heat.Data();
  float* dst = out.Data();
  auto* w = new KernelWorker(env, [=](Timing& timing) {
    runTimed(
        c.backend, timing, [&](bool* bad) { cpu::ensemble(in, s, *e, dst, c.threads, bad); },
        [&](bool* bad, Timing* t) { OMNI_CUDA_CALL(cuda::ensemble(in, s, *e, dst, bad, t)); },
        [&] { return nonFiniteMessage("heatmaps", in, s, e.get()); });
  });
  w->keep(heat);
  w->output("output", out);
  w->Queue();
  return w->promise();
}

/** decodeHeatmaps(maps, {n,k,m}, rois, {probability?, backend, threads?}) */
Napi::Value DecodeHeatmaps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Shape s = readShape(env, info[1], "shape", false);
  auto maps = expectArray<float>(env, info[0], "maps", s.elements());
  auto d = std::make_shared<DecodeSpec>();
  d->rois = readRois(env, info[2], "rois", s.n);
  Napi::Object o = expectObject(env, info[3], "options");
  const Common c = readCommon(env, o, "options");
  d->probability = o.Get("probability").ToBoolean().Value();
  requireBackend(env, c.backend);
  Napi::Float32Array kp = Napi::Float32Array::New(env, static_cast<size_t>(s.n * s.k * 3));
  Napi::Float32Array prob = Napi::Float32Array::New(env, d->probability ? static_cast<size_t>(s.n * s.k) : 0);
  const float* in = maps.Data();
  float* kpOut = kp.Data();
  float* probOut = d->probability ? prob.Data() : nullptr;
  auto* w = new KernelWorker(env, [=](Timing& timing) {
    runTimed(
        c.backend, timing, [&](bool* bad) { cpu::decode(in, s, *d, kpOut, probOut, c.threads, bad); },
        [&](bool* bad, Timing* t) { OMNI_CUDA_CALL(cuda::decode(in, s, *d, kpOut, probOut, bad, t)); },
        [&] { return nonFiniteMessage("maps", in, s, nullptr); });
  });
  w->keep(maps);
  w->output("keypoints", kp);
  if (d->probability) w->output("probability", prob);
  w->Queue();
  return w->promise();
}

/** ensembleAndDecode(heatmaps, {t,n,k,m}, rois, {ensemble options..., probability?, backend, threads?}) */
Napi::Value EnsembleAndDecode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Shape s = readShape(env, info[1], "shape", true);
  auto heat = expectArray<float>(env, info[0], "heatmaps", s.elements());
  auto d = std::make_shared<DecodeSpec>();
  d->rois = readRois(env, info[2], "rois", s.n);
  Napi::Object o = expectObject(env, info[3], "options");
  const Common c = readCommon(env, o, "options");
  auto e = std::make_shared<EnsembleSpec>(readEnsemble(env, o, s, "options"));
  d->probability = o.Get("probability").ToBoolean().Value();
  requireBackend(env, c.backend);
  checkCudaMapSide(env, c.backend, s, "shape.m");
  Napi::Float32Array kp = Napi::Float32Array::New(env, static_cast<size_t>(s.n * s.k * 3));
  Napi::Float32Array prob = Napi::Float32Array::New(env, d->probability ? static_cast<size_t>(s.n * s.k) : 0);
  const float* in = heat.Data();
  float* kpOut = kp.Data();
  float* probOut = d->probability ? prob.Data() : nullptr;
  auto* w = new KernelWorker(env, [=](Timing& timing) {
    runTimed(
        c.backend, timing, [&](bool* bad) { cpu::ensembleAndDecode(in, s, *e, *d, kpOut, probOut, c.threads, bad); },
        [&](bool* bad, Timing* t) { OMNI_CUDA_CALL(cuda::ensembleAndDecode(in, s, *e, *d, kpOut, probOut, bad, t)); },
        [&] { return nonFiniteMessage("heatmaps", in, s, e.get()); });
  });
  w->keep(heat);
  w->output("keypoints", kp);
  if (d->probability) w->output("probability", prob);
  w->Queue();
  return w->promise();
}

/**
 * readSum(a, {threads?}): the sum of a, read once on the cpu thread pool; resolves with
 * {sum: Float64Array [1]} and timings. The read-only bandwidth next to the triad's.
 */
Napi::Value ReadSum(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) throwType(env, "a", "a Float32Array", describe(info[0]));
  const int64_t length = static_cast<int64_t>(info[0].As<Napi::TypedArray>().ElementLength());
  auto a = expectArray<float>(env, info[0], "a", length);
  Napi::Object o = expectObject(env, info[1], "options");
  const Napi::Value t = o.Get("threads");
  const int threads = t.IsUndefined() ? cpu::defaultThreads() : static_cast<int>(expectPositiveInt(env, t, "options.threads", 1024));
  const float* pa = a.Data();
  Napi::Float64Array sum = Napi::Float64Array::New(env, 1);
  double* out = sum.Data();
  auto* w = new KernelWorker(env, [=](Timing& timing) {
    const auto start = std::chrono::steady_clock::now();
    *out = cpu::readSum(pa, length, threads);
    timing.kernelMs = timing.totalMs = msSince(start);
  });
  w->keep(a);
  w->output("sum", sum);
  w->Queue();
  return w->promise();
}

/** triad(a, b, c, s, {backend, threads?}): a[i] = b[i] + s * c[i]; resolves with timings. */
Napi::Value Triad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) throwType(env, "a", "a Float32Array", describe(info[0]));
  const int64_t length = static_cast<int64_t>(info[0].As<Napi::TypedArray>().ElementLength());
  auto a = expectArray<float>(env, info[0], "a", length);
  auto b = expectArray<float>(env, info[1], "b", length);
  auto cArr = expectArray<float>(env, info[2], "c", length);
  if (!info[3].IsNumber() || !std::isfinite(info[3].As<Napi::Number>().DoubleValue())) throwType(env, "s", "a finite number", describe(info[3]));
  const float scalar = static_cast<float>(info[3].As<Napi::Number>().DoubleValue());
  Napi::Object o = expectObject(env, info[4], "options");
  const Common c = readCommon(env, o, "options");
  requireBackend(env, c.backend);
  float* pa = a.Data();
  const float* pb = b.Data();
  const float* pc = cArr.Data();
  auto* w = new KernelWorker(env, [=](Timing& timing) {
    runTimed(
        c.backend, timing, [&](bool*) { cpu::triad(pa, pb, pc, scalar, length, c.threads); },
        [&](bool* bad, Timing* t) {
          (void)bad;  // the triad reads no logits
          OMNI_CUDA_CALL(cuda::triad(pa, pb, pc, scalar, length, t));
        },
        [] { return std::string(); });
  });
  w->keep(b);
  w->keep(cArr);
  w->output("a", a);
  w->Queue();
  return w->promise();
}

// ---------------------------------------------------------------------------------------
// COCO files (results and ground truth): read and scanned into columns on the thread pool
// (coco_results.h, coco_dataset.h), so that the JavaScript thread is free meanwhile. Each
// resolves null when the text is outside its scanner's shape or the file cannot be read.

/** Columns at least this large are handed to JavaScript without a copy (smaller ones are copied: no finalizer per array). */
constexpr size_t kAdoptBytes = 64 << 10;

/**
 * A typed array of `v`'s elements. A large column is moved into an external ArrayBuffer (the
 * buffer owns it and frees it when collected): no zero-filled allocation, copy and page faults
 * on the JavaScript thread, which waits for these results.
 */
template <typename T, typename Array>
Array toTypedArray(Napi::Env env, std::vector<T>& v) {
  if (v.size() * sizeof(T) < kAdoptBytes) {
    Array a = Array::New(env, v.size());
    if (!v.empty()) std::memcpy(a.Data(), v.data(), v.size() * sizeof(T));
    return a;
  }
  auto* owned = new std::vector<T>(std::move(v));
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(
      env, owned->data(), owned->size() * sizeof(T), [](Napi::Env, void*, std::vector<T>* o) { delete o; }, owned);
  return Array::New(env, owned->size(), buffer, 0);
}

Napi::Float64Array f64(Napi::Env env, std::vector<double>& v) { return toTypedArray<double, Napi::Float64Array>(env, v); }
Napi::Int32Array i32(Napi::Env env, std::vector<int32_t>& v) { return toTypedArray<int32_t, Napi::Int32Array>(env, v); }
Napi::Uint8Array u8(Napi::Env env, std::vector<uint8_t>& v) { return toTypedArray<uint8_t, Napi::Uint8Array>(env, v); }

Napi::Object toJs(Napi::Env env, CocoResultsColumns& c) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("imageId", f64(env, c.imageId));
  o.Set("categoryId", f64(env, c.categoryId));
  o.Set("score", f64(env, c.score));
  o.Set("bbox", f64(env, c.bbox));
  o.Set("hasBox", u8(env, c.hasBox));
  o.Set("kpStart", i32(env, c.kpStart));
  o.Set("kpCount", i32(env, c.kpCount));
  o.Set("keypoints", f64(env, c.keypoints));
  return o;
}

Napi::Object toJs(Napi::Env env, CocoDatasetColumns& c) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("imageId", f64(env, c.imageId));
  o.Set("width", f64(env, c.width));
  o.Set("height", f64(env, c.height));
  o.Set("imageWhole", u8(env, c.imageWhole));
  o.Set("imageText", Napi::String::New(env, c.imageText));
  o.Set("annId", f64(env, c.annId));
  o.Set("annImageId", f64(env, c.annImageId));
  o.Set("annCategoryId", f64(env, c.annCategoryId));
  o.Set("area", f64(env, c.area));
  o.Set("bbox", f64(env, c.bbox));
  o.Set("iscrowd", u8(env, c.iscrowd));
  o.Set("numKeypoints", f64(env, c.numKeypoints));
  o.Set("kpStart", i32(env, c.kpStart));
  o.Set("kpCount", i32(env, c.kpCount));
  o.Set("keypoints", f64(env, c.keypoints));
  o.Set("restJson", Napi::String::New(env, c.restJson));
  return o;
}

/** Reads (or takes) a COCO file's bytes and scans them into `Columns` with `Scan`, on the pool. */
template <typename Columns, bool (*Scan)(const uint8_t*, size_t, bool, Columns&)>
class CocoScanWorker : public Napi::AsyncWorker {
 public:
  /** Scans bytes the caller holds (kept alive until the promise settles). */
  CocoScanWorker(Napi::Env env, Napi::Uint8Array bytes, bool skipKeypoints)
      : Napi::AsyncWorker(env, "omnidistill:coco-scan"),
        deferred_(Napi::Promise::Deferred::New(env)),
        bytes_(Napi::Persistent(static_cast<Napi::Value>(bytes))),
        data_(bytes.Data()),
        size_(bytes.ElementLength()),
        skip_(skipKeypoints) {}

  /** Reads the file on the pool thread too: no JavaScript turn is needed between read and scan. */
  CocoScanWorker(Napi::Env env, std::string path, bool skipKeypoints)
      : Napi::AsyncWorker(env, "omnidistill:coco-scan"),
        deferred_(Napi::Promise::Deferred::New(env)),
        path_(std::move(path)),
        data_(nullptr),
        size_(0),
        skip_(skipKeypoints) {}

  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      if (!path_.empty()) {
        if (!text_.read(path_)) return;  // ok_ stays false: the caller reads it itself
        data_ = text_.data();
        size_ = text_.size();
      }
      ok_ = Scan(data_, size_, skip_, columns_);
    } catch (const std::bad_alloc&) {
      ok_ = false;  // too large for this process: the caller's streaming reader takes it
      columns_ = Columns{};
    }
    text_.release();
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (!ok_) {
      deferred_.Resolve(env.Null());
      return;
    }
    Napi::Object o = toJs(env, columns_);
    columns_ = Columns{};
    deferred_.Resolve(o);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::Reference<Napi::Value> bytes_;  // keeps the text alive while the pool thread reads it
  std::string path_;
  FileBytes text_;
  const uint8_t* data_;
  size_t size_;
  bool skip_;
  bool ok_ = false;
  Columns columns_;
};

/** The common argument handling of parseCocoResults / parseCocoDataset: (source, { <skipOption>: boolean }). */
template <typename Worker>
Napi::Value QueueCocoScan(const Napi::CallbackInfo& info, const char* skipOption) {
  Napi::Env env = info.Env();
  const Napi::Value source = info[0];
  const bool isPath = source.IsString() && !source.As<Napi::String>().Utf8Value().empty();
  if (!isPath && (!source.IsTypedArray() || source.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)) {
    throwType(env, "source", "a Uint8Array or a file path", describe(source));
  }
  Napi::Object options = expectObject(env, info[1], "options");
  const Napi::Value skip = options.Get(skipOption);
  if (!skip.IsBoolean()) throwType(env, std::string("options.") + skipOption, "a boolean", describe(skip));
  const bool skipKeypoints = skip.As<Napi::Boolean>().Value();
  Worker* worker;
  if (isPath) {
    worker = new Worker(env, source.As<Napi::String>().Utf8Value(), skipKeypoints);
  } else {
    Napi::Uint8Array bytes = source.As<Napi::Uint8Array>();
    if (bytes.ElementLength() > 0 && bytes.Data() == nullptr) throwRange(env, "source", "an attached buffer", "a detached buffer");
    worker = new Worker(env, bytes, skipKeypoints);
  }
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

/** parseCocoResults(source: Uint8Array | string (a file path), options: { skipBoxedKeypoints: boolean }) */
Napi::Value ParseCocoResults(const Napi::CallbackInfo& info) {
  return QueueCocoScan<CocoScanWorker<CocoResultsColumns, scanCocoResults>>(info, "skipBoxedKeypoints");
}

/** parseCocoDataset(source: Uint8Array | string (a file path), options: { skipKeypoints: boolean }) */
Napi::Value ParseCocoDataset(const Napi::CallbackInfo& info) {
  return QueueCocoScan<CocoScanWorker<CocoDatasetColumns, scanCocoDataset>>(info, "skipKeypoints");
}

// ---------------------------------------------------------------------------------------
// COCOeval cell matching and accumulate (coco_match.cc, coco_accumulate.cc): synchronous, as
// @omnidistill/coco's evaluate() is; they replace the same work on this thread (tens of ms at
// 5k images), so a worker would only add a hop. Every length and index is checked here, so the
// kernels read and write only in bounds.

/** The typed array `o[name]` of element type T, any length (byteOffset respected). */
template <typename T>
Napi::TypedArrayOf<T> propertyArray(Napi::Env env, const Napi::Object& o, const char* name, const std::string& path) {
  const Napi::Value v = o.Get(name);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != ArrayTraits<T>::type) {
    throwType(env, path + "." + name, ArrayTraits<T>::name, describe(v));
  }
  Napi::TypedArrayOf<T> a = v.As<Napi::TypedArrayOf<T>>();
  if (a.ElementLength() > 0 && a.Data() == nullptr) throwRange(env, path + "." + name, "an attached buffer", "a detached buffer");
  return a;
}

/** The typed array `o[name]` of element type T and exactly `length` elements. */
template <typename T>
T* propertyArrayOf(Napi::Env env, const Napi::Object& o, const char* name, const std::string& path, int64_t length) {
  return expectArray<T>(env, o.Get(name), path + "." + name, length).Data();
}

/** Every entry of an index array within [0, n). */
void expectIndices(Napi::Env env, const int32_t* a, int64_t length, int64_t n, const std::string& path) {
  for (int64_t i = 0; i < length; i++) {
    if (a[i] < 0 || a[i] >= n) throwRange(env, path + "[" + std::to_string(i) + "]", "an index in [0, " + std::to_string(n) + ")", std::to_string(a[i]) + " (number)");
  }
}

double propertyNumber(Napi::Env env, const Napi::Object& o, const char* name, const std::string& path) {
  const Napi::Value v = o.Get(name);
  if (!v.IsNumber() || !std::isfinite(v.As<Napi::Number>().DoubleValue())) throwType(env, path + "." + name, "a finite number", describe(v));
  return v.As<Napi::Number>().DoubleValue();
}

/** Keypoints `o[name]` and their offsets `o[offsets]` (n entries), each offset leaving room for 3K numbers. */
const double* keypointArray(Napi::Env env, const Napi::Object& o, const char* name, const char* offsets, const std::string& path, int64_t n, int32_t k,
                            const int32_t*& off) {
  Napi::Float64Array kp = propertyArray<double>(env, o, name, path);
  off = propertyArrayOf<int32_t>(env, o, offsets, path, n);
  const int64_t k3 = 3 * static_cast<int64_t>(k);
  const int64_t length = static_cast<int64_t>(kp.ElementLength());
  for (int64_t j = 0; j < n; j++) {
    if (off[j] < 0 || off[j] + k3 > length) {
      throwRange(env, path + "." + offsets + "[" + std::to_string(j) + "]",
                 "an offset in [0, " + std::to_string(length - k3) + "] (" + name + " holds " + std::to_string(length) + " numbers)", std::to_string(off[j]) + " (number)");
    }
  }
  return kp.Data();
}

/** Ground-truth and detection columns of a match object (lengths checked against gtId / dtScore). */
void readMatchColumns(Napi::Env env, const Napi::Object& o, const std::string& path, CocoMatchInput& in, int64_t& numGt, int64_t& numDt) {
  const Napi::Value kp = o.Get("keypoints");
  if (!kp.IsBoolean()) throwType(env, path + ".keypoints", "a boolean", describe(kp));
  in.keypoints = kp.As<Napi::Boolean>().Value();
  Napi::Float64Array vars = propertyArray<double>(env, o, "vars", path);
  if (in.keypoints && (vars.ElementLength() < 1 || vars.ElementLength() > 8192)) {
    throwRange(env, path + ".vars", "1 to 8192 elements for a keypoints evaluation", describe(vars));
  }
  in.vars = vars.Data();
  in.numKeypoints = static_cast<int32_t>(vars.ElementLength());
  Napi::Float64Array gtId = propertyArray<double>(env, o, "gtId", path);
  numGt = static_cast<int64_t>(gtId.ElementLength());
  in.gtId = gtId.Data();
  in.gtArea = propertyArrayOf<double>(env, o, "gtArea", path, numGt);
  in.gtCrowd = propertyArrayOf<uint8_t>(env, o, "gtCrowd", path, numGt);
  in.gtIgnore = propertyArrayOf<uint8_t>(env, o, "gtIgnore", path, numGt);
  in.gtBox = propertyArrayOf<double>(env, o, "gtBox", path, 4 * numGt);
  Napi::Float64Array dtScore = propertyArray<double>(env, o, "dtScore", path);
  numDt = static_cast<int64_t>(dtScore.ElementLength());
  in.dtScore = dtScore.Data();
  in.dtArea = propertyArrayOf<double>(env, o, "dtArea", path, numDt);
  in.dtBox = propertyArrayOf<double>(env, o, "dtBox", path, 4 * numDt);
  if (!in.keypoints) return;
  in.gtKp = keypointArray(env, o, "gtKp", "gtKpOff", path, numGt, in.numKeypoints, in.gtKpOff);
  in.dtKp = keypointArray(env, o, "dtKp", "dtKpOff", path, numDt, in.numKeypoints, in.dtKpOff);
}

/**
 * The cells (5 per cell) and the number of layout positions they fill. A cell's ranges are
 * positions in gOrder / dOrder (numGtOrder, numDtOrder entries), which may list fewer annotations
 * than the columns hold: the ranges are checked against the orders' lengths.
 */
int64_t readMatchCells(Napi::Env env, const Napi::Object& o, const std::string& path, CocoMatchInput& in, int64_t numGtOrder, int64_t numDtOrder, int64_t numCategories) {
  Napi::Int32Array cells = propertyArray<int32_t>(env, o, "cells", path);
  if (cells.ElementLength() % 5 != 0) throwRange(env, path + ".cells", "a multiple of 5 elements (k, g0, g1, d0, d1 per cell)", describe(cells));
  in.cells = cells.Data();
  in.numCells = static_cast<int64_t>(cells.ElementLength() / 5);
  int64_t kept = 0;
  for (int64_t c = 0; c < in.numCells; c++) {
    const int32_t* cell = in.cells + 5 * c;
    const bool ok = cell[0] >= 0 && cell[0] < numCategories && 0 <= cell[1] && cell[1] <= cell[2] && cell[2] <= numGtOrder && 0 <= cell[3] && cell[3] <= cell[4] && cell[4] <= numDtOrder;
    if (!ok) {
      throwRange(env, path + ".cells[" + std::to_string(5 * c) + "]",
                 "k in [0, " + std::to_string(numCategories) + ") and ranges 0 <= g0 <= g1 <= " + std::to_string(numGtOrder) + " (gOrder's length), 0 <= d0 <= d1 <= " + std::to_string(numDtOrder) + " (dOrder's length)",
                 "[" + std::to_string(cell[0]) + ", " + std::to_string(cell[1]) + ", " + std::to_string(cell[2]) + ", " + std::to_string(cell[3]) + ", " + std::to_string(cell[4]) + "]");
    }
    kept += std::min<int64_t>(cell[4] - cell[3], in.maxDetLast);
  }
  return kept;
}

/** matchCocoCells(m: CellMatch of @omnidistill/coco): fills m.detOf, m.rank, m.outcome and adds to m.npig. */
Napi::Value MatchCocoCells(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string path = "match";
  Napi::Object o = expectObject(env, info[0], path);
  CocoMatchInput in{};
  int64_t numGt = 0, numDt = 0;
  readMatchColumns(env, o, path, in, numGt, numDt);
  in.numGt = numGt;
  in.numDt = numDt;
  Napi::Int32Array gOrder = propertyArray<int32_t>(env, o, "gOrder", path);
  Napi::Int32Array dOrder = propertyArray<int32_t>(env, o, "dOrder", path);
  expectIndices(env, gOrder.Data(), static_cast<int64_t>(gOrder.ElementLength()), numGt, path + ".gOrder");
  expectIndices(env, dOrder.Data(), static_cast<int64_t>(dOrder.ElementLength()), numDt, path + ".dOrder");
  in.gOrder = gOrder.Data();
  in.dOrder = dOrder.Data();
  in.farPerArea = propertyNumber(env, o, "farPerArea", path);
  Napi::Float64Array thr = propertyArray<double>(env, o, "thr", path);
  if (thr.ElementLength() < 1 || thr.ElementLength() > 1024) throwRange(env, path + ".thr", "1 to 1024 thresholds", describe(thr));
  in.thr = thr.Data();
  in.numThresholds = static_cast<int32_t>(thr.ElementLength());
  Napi::Float64Array areaLo = propertyArray<double>(env, o, "areaLo", path);
  if (areaLo.ElementLength() < 1 || areaLo.ElementLength() > 1024) throwRange(env, path + ".areaLo", "1 to 1024 area ranges", describe(areaLo));
  in.numAreas = static_cast<int32_t>(areaLo.ElementLength());
  in.areaLo = areaLo.Data();
  in.areaHi = propertyArrayOf<double>(env, o, "areaHi", path, in.numAreas);
  in.maxDetLast = static_cast<int32_t>(expectPositiveInt(env, o.Get("maxDetLast"), path + ".maxDetLast", INT32_MAX));
  Napi::Float64Array npig = propertyArray<double>(env, o, "npig", path);
  if (npig.ElementLength() % in.numAreas != 0) throwRange(env, path + ".npig", "categories × area ranges elements", describe(npig));
  const int64_t numCategories = static_cast<int64_t>(npig.ElementLength() / in.numAreas);
  CocoMatchOutput out{};
  out.kept = readMatchCells(env, o, path, in, static_cast<int64_t>(gOrder.ElementLength()), static_cast<int64_t>(dOrder.ElementLength()), numCategories);
  out.detOf = propertyArrayOf<int32_t>(env, o, "detOf", path, out.kept);
  out.rank = propertyArrayOf<int32_t>(env, o, "rank", path, out.kept);
  out.outcome = propertyArrayOf<uint8_t>(env, o, "outcome", path, out.kept * in.numAreas * in.numThresholds);
  out.npig = npig.Data();
  matchCocoCells(in, out);
  return env.Undefined();
}

/** accumulateCoco(acc: Accumulation of @omnidistill/coco): fills acc.precision, acc.recall and acc.scores. */
Napi::Value AccumulateCoco(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string path = "acc";
  Napi::Object o = expectObject(env, info[0], path);
  CocoAccumulation acc{};
  acc.numThresholds = static_cast<int32_t>(expectPositiveInt(env, o.Get("numThresholds"), path + ".numThresholds", 1024));
  Napi::Float64Array maxDets = propertyArray<double>(env, o, "maxDets", path);
  if (maxDets.ElementLength() < 1 || maxDets.ElementLength() > 1024) throwRange(env, path + ".maxDets", "1 to 1024 values", describe(maxDets));
  acc.maxDets = maxDets.Data();
  acc.numMaxDets = static_cast<int32_t>(maxDets.ElementLength());
  Napi::Float64Array recThrs = propertyArray<double>(env, o, "recThrs", path);
  if (recThrs.ElementLength() > 1 << 20) throwRange(env, path + ".recThrs", "at most 2^20 values", describe(recThrs));
  acc.recThrs = recThrs.Data();
  acc.numRecall = static_cast<int32_t>(recThrs.ElementLength());
  Napi::Int32Array kStart = propertyArray<int32_t>(env, o, "kStart", path);
  if (kStart.ElementLength() < 1 || kStart.ElementLength() > (1 << 24)) throwRange(env, path + ".kStart", "1 to 2^24 entries (categories + 1)", describe(kStart));
  acc.kStart = kStart.Data();
  acc.numCategories = static_cast<int32_t>(kStart.ElementLength() - 1);
  if (acc.numCategories == 0) return env.Undefined();  // nothing to accumulate
  Napi::Int32Array detOf = propertyArray<int32_t>(env, o, "detOf", path);
  acc.kept = static_cast<int64_t>(detOf.ElementLength());
  acc.detOf = detOf.Data();
  for (int32_t k = 0; k <= acc.numCategories; k++) {
    const int32_t prev = k == 0 ? 0 : acc.kStart[k - 1];
    if (acc.kStart[k] < prev || acc.kStart[k] > acc.kept || (k == 0 && acc.kStart[0] != 0)) {
      throwRange(env, path + ".kStart[" + std::to_string(k) + "]", "non-decreasing layout positions from 0 to at most " + std::to_string(acc.kept), std::to_string(acc.kStart[k]) + " (number)");
    }
  }
  Napi::Float64Array score = propertyArray<double>(env, o, "score", path);
  acc.score = score.Data();
  expectIndices(env, acc.detOf, acc.kept, static_cast<int64_t>(score.ElementLength()), path + ".detOf");
  acc.rank = propertyArrayOf<int32_t>(env, o, "rank", path, acc.kept);
  Napi::Float64Array npig = propertyArray<double>(env, o, "npig", path);
  if (npig.ElementLength() % acc.numCategories != 0 || npig.ElementLength() / acc.numCategories > 1024) {
    throwRange(env, path + ".npig", "categories × area ranges elements (at most 1024 area ranges)", describe(npig));
  }
  acc.npig = npig.Data();
  acc.numAreas = static_cast<int32_t>(npig.ElementLength() / acc.numCategories);
  const int64_t T = acc.numThresholds, R = acc.numRecall, K = acc.numCategories, A = acc.numAreas, M = acc.numMaxDets;
  acc.outcome = propertyArrayOf<uint8_t>(env, o, "outcome", path, A * T * acc.kept);
  acc.precision = propertyArrayOf<double>(env, o, "precision", path, T * R * K * A * M);
  acc.recall = propertyArrayOf<double>(env, o, "recall", path, T * K * A * M);
  acc.scores = propertyArrayOf<double>(env, o, "scores", path, T * R * K * A * M);
  accumulateCoco(acc);
  return env.Undefined();
}

/** What was compiled in and what can run here, with reasons. */
Napi::Value Backends(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  Napi::Object cpuInfo = Napi::Object::New(env);
  cpuInfo.Set("compiled", true);
  cpuInfo.Set("usable", true);
  cpuInfo.Set("threads", cpu::defaultThreads());
  result.Set("cpu", cpuInfo);
  Napi::Object cudaInfo = Napi::Object::New(env);
#ifdef OMNI_WITH_CUDA
  const cuda::Probe& p = cudaProbe();
  cudaInfo.Set("compiled", true);
  cudaInfo.Set("usable", p.usable);
  if (p.usable) cudaInfo.Set("device", p.device);
  else cudaInfo.Set("reason", "compiled but no device: " + p.reason);
  cudaInfo.Set("runtimeVersion", p.runtimeVersion);
  cudaInfo.Set("driverVersion", p.driverVersion);
#else
  cudaInfo.Set("compiled", false);
  cudaInfo.Set("usable", false);
  cudaInfo.Set("reason", "not compiled (nvcc was not found when the addon was built)");
#endif
  result.Set("cuda", cudaInfo);
  return result;
}

/** The compiler and flags baked in at build time (build/build-info.json has the full record). */
Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("compiler", OMNI_BUILD_COMPILER);
  o.Set("flags", OMNI_BUILD_FLAGS);
#ifdef OMNI_WITH_CUDA
  o.Set("cuda", true);
#else
  o.Set("cuda", false);
#endif
#ifdef NDEBUG
  o.Set("debug", false);
#else
  o.Set("debug", true);
#endif
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("backends", Napi::Function::New(env, Backends, "backends"));
  exports.Set("buildInfo", Napi::Function::New(env, BuildInfo, "buildInfo"));
  exports.Set("ensembleHeatmaps", Napi::Function::New(env, EnsembleHeatmaps, "ensembleHeatmaps"));
  exports.Set("decodeHeatmaps", Napi::Function::New(env, DecodeHeatmaps, "decodeHeatmaps"));
  exports.Set("ensembleAndDecode", Napi::Function::New(env, EnsembleAndDecode, "ensembleAndDecode"));
  exports.Set("triad", Napi::Function::New(env, Triad, "triad"));
  exports.Set("readSum", Napi::Function::New(env, ReadSum, "readSum"));
  exports.Set("parseCocoResults", Napi::Function::New(env, ParseCocoResults, "parseCocoResults"));
  exports.Set("parseCocoDataset", Napi::Function::New(env, ParseCocoDataset, "parseCocoDataset"));
  exports.Set("matchCocoCells", Napi::Function::New(env, MatchCocoCells, "matchCocoCells"));
  exports.Set("accumulateCoco", Napi::Function::New(env, AccumulateCoco, "accumulateCoco"));
  return exports;
}

}  // namespace
}  // namespace omni

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return omni::Init(env, exports); }

NODE_API_MODULE(omnidistill_native, InitAddon)
