// Hostile and broken input files through the C API: crafted .params files (shapes whose product
// overflows, 33 dims, data or keys longer than the file, keys holding NUL, absurd counts), idx
// headers that promise more than the file holds, a gzip bomb, endless streams (/dev/zero, a FIFO
// that never stops), directories where a file is expected, CSV shapes whose product overflows.
// Each is an error naming the file and the byte offset (or line), found without reading or
// allocating more than the input justifies, and a normal load works afterwards.
//
// Cases that could hang or eat the machine's memory on a broken reader run in a child process
// (this binary again, one test selected) that the parent kills past a time or memory cap; the
// child's peak RSS comes from wait4.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "mx/c_api.h"
#include "ndarray/serialize.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;

#define ASSERT_OK(call) ASSERT_EQ((call), 0) << #call << ": " << mx_get_last_error()
#define EXPECT_OK(call) EXPECT_EQ((call), 0) << #call << ": " << mx_get_last_error()

// The error message holds `part` (a file name, "offset 32", ...).
#define EXPECT_HAS(msg, part) EXPECT_NE(std::string(msg).find(part), std::string::npos) << (msg)

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("mx_files_test_" + std::to_string(::getpid()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Little-endian byte building for crafted files.
struct Bytes {
  std::string s;
  template <typename T>
  Bytes& put(T v) {
    s.append(reinterpret_cast<const char*>(&v), sizeof(v));
    return *this;
  }
  Bytes& raw(const std::string& b) {
    s += b;
    return *this;
  }
};

// ---------------------------------------------------------------- .params

constexpr uint32_t kV2 = 0xF993fac9;

// A .params header for n arrays (24 bytes: list magic, reserved, count).
Bytes params_header(uint64_t n) { return Bytes().put<uint64_t>(0x112).put<uint64_t>(0).put<uint64_t>(n); }

// One V2 array record: magic, dense storage, ndim, dims, cpu(0), dtype flag, then `data`.
Bytes& put_array(Bytes& b, const std::vector<int64_t>& shape, int32_t dtype, const std::string& data) {
  b.put<uint32_t>(kV2).put<int32_t>(0).put<int32_t>(int32_t(shape.size()));
  for (int64_t d : shape) b.put<int64_t>(d);
  return b.put<int32_t>(1).put<int32_t>(0).put<int32_t>(dtype).raw(data);
}

std::string float_bytes(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

// mx_ndarray_load: "" when it loads (the arrays are freed), else the error message (code in *code).
std::string load_error(const std::string& path, int32_t* code = nullptr) {
  uint32_t n = 0, nk = 0;
  mx_ndarray_t* arrs = nullptr;
  const char** keys = nullptr;
  if (mx_ndarray_load(path.c_str(), &n, &arrs, &nk, &keys) == 0) {
    for (uint32_t i = 0; i < n; ++i) mx_ndarray_free(arrs[i]);
    return "";
  }
  if (code) *code = mx_get_last_error_code();
  return mx_get_last_error();
}

// The load fails with MX_ERR_IO and a message naming the file and `part`.
void expect_bad_params(const std::string& path, const std::string& part) {
  int32_t code = 0;
  const std::string err = load_error(path, &code);
  ASSERT_NE(err, "") << path << " loaded";
  EXPECT_EQ(code, MX_ERR_IO) << err;
  EXPECT_HAS(err, path);
  EXPECT_HAS(err, part);
}

// After any error: a normal save and load round trip gives back the values and keys.
void expect_normal_load_works(const TempDir& tmp) {
  const int64_t shape[2] = {2, 3};
  mx_ndarray_t a = nullptr;
  ASSERT_OK(mx_ndarray_create(shape, 2, MX_FLOAT32, MX_DEVICE_CPU, 0, &a));
  const std::vector<float> v = {1, -2, 3.5f, 4, 5, 6};
  ASSERT_OK(mx_ndarray_copy_from_host(a, v.data(), v.size() * sizeof(float)));
  const std::string path = tmp.file("good.params");
  const char* key = "arg:w";
  ASSERT_OK(mx_ndarray_save(path.c_str(), 1, &a, &key));
  mx_ndarray_free(a);
  uint32_t n = 0, nk = 0;
  mx_ndarray_t* arrs = nullptr;
  const char** keys = nullptr;
  ASSERT_OK(mx_ndarray_load(path.c_str(), &n, &arrs, &nk, &keys));
  ASSERT_EQ(n, 1u);
  ASSERT_EQ(nk, 1u);
  EXPECT_STREQ(keys[0], "arg:w");
  std::vector<float> got(6);
  EXPECT_OK(mx_ndarray_copy_to_host(arrs[0], got.data(), got.size() * sizeof(float)));
  EXPECT_EQ(got, v);
  mx_ndarray_free(arrs[0]);
}

// The core's own entry points below need the backends the C API loads on its first call.
void init_through_the_c_api() {
  const int64_t shape[1] = {1};
  mx_ndarray_t h = nullptr;
  ASSERT_OK(mx_ndarray_create(shape, 1, MX_FLOAT32, MX_DEVICE_CPU, 0, &h));
  mx_ndarray_free(h);
}

TEST(Params, AShapeWhoseProductOverflowsIsAnErrorNotAnArray) {
  TempDir tmp;
  // (2^32, 2^32) float32: the element count wraps to 0 in 64 bits, so "0 bytes of data" matched
  // and an array that claims 2^64 elements came back.
  for (const std::vector<int64_t>& shape : std::vector<std::vector<int64_t>>{
           {int64_t(1) << 32, int64_t(1) << 32}, {int64_t(1) << 62, 4}, {int64_t(1) << 61, 1}, {3037000500, 3037000500}}) {
    Bytes b = params_header(1);
    put_array(b, shape, MX_FLOAT32, std::string(64, '\0')).put<uint64_t>(0);
    const std::string path = tmp.file("huge.params");
    write_file(path, b.s);
    expect_bad_params(path, "offset 36");  // the dims start after list header (24), magic, stype, ndim
  }
  expect_normal_load_works(tmp);
}

TEST(Params, ThirtyThreeDimsAreAnError) {
  TempDir tmp;
  Bytes b = params_header(1);
  put_array(b, std::vector<int64_t>(33, 1), MX_FLOAT32, float_bytes({1})).put<uint64_t>(0);
  const std::string path = tmp.file("dims33.params");
  write_file(path, b.s);
  expect_bad_params(path, "offset 32");  // the ndim field
  expect_normal_load_works(tmp);
}

TEST(Params, DataLongerThanTheFileIsAnErrorBeforeAllocating) {
  TempDir tmp;
  // (1000,) float32 needs 4000 bytes, the file holds 8; and 2^40 bytes claimed by a 60-byte file
  for (const std::vector<int64_t>& shape : std::vector<std::vector<int64_t>>{{1000}, {int64_t(1) << 38}}) {
    Bytes b = params_header(1);
    put_array(b, shape, MX_FLOAT32, float_bytes({1, 2}));
    const std::string path = tmp.file("short.params");
    write_file(path, b.s);
    expect_bad_params(path, "offset 56");  // the data starts after dims and device/dtype words
  }
  expect_normal_load_works(tmp);
}

TEST(Params, AKeyHoldingNulIsAnErrorNamingItsOffset) {
  TempDir tmp;
  Bytes b = params_header(1);
  put_array(b, {2}, MX_FLOAT32, float_bytes({1, 2}));
  const size_t key_at = b.s.size() + 8 + 8;  // key count, key length, then the key bytes
  b.put<uint64_t>(1).put<uint64_t>(9).raw(std::string("arg:w\0bad", 9));
  const std::string path = tmp.file("nulkey.params");
  write_file(path, b.s);
  // Before: loaded, and the C API handed out "arg:w", a different key than the file holds.
  expect_bad_params(path, "offset " + std::to_string(key_at + 5));
  expect_normal_load_works(tmp);
}

TEST(Params, AbsurdLengthsAndCountsAreErrors) {
  TempDir tmp;
  const std::string path = tmp.file("absurd.params");
  {  // key length 2^60
    Bytes b = params_header(1);
    put_array(b, {1}, MX_FLOAT32, float_bytes({1}));
    const size_t len_at = b.s.size() + 8;
    b.put<uint64_t>(1).put<uint64_t>(uint64_t(1) << 60).raw("abc");
    write_file(path, b.s);
    expect_bad_params(path, "offset " + std::to_string(len_at));
  }
  {  // key length 2^64 - 1: length + position must not wrap
    Bytes b = params_header(1);
    put_array(b, {1}, MX_FLOAT32, float_bytes({1}));
    b.put<uint64_t>(1).put<uint64_t>(~uint64_t(0)).raw("abc");
    write_file(path, b.s);
    expect_bad_params(path, "key length");
  }
  for (uint64_t n : {uint64_t(1) << 62, ~uint64_t(0), uint64_t(1000)}) {  // array counts the file cannot hold
    Bytes b = params_header(n);
    put_array(b, {1}, MX_FLOAT32, float_bytes({1})).put<uint64_t>(0);
    write_file(path, b.s);
    expect_bad_params(path, "offset 16");
  }
  {  // key count 2^62 for 1 array
    Bytes b = params_header(1);
    put_array(b, {1}, MX_FLOAT32, float_bytes({1})).put<uint64_t>(uint64_t(1) << 62);
    write_file(path, b.s);
    expect_bad_params(path, "keys for 1 arrays");
  }
  {  // negative dimension, unknown dtype, sparse storage, V1 with 2^31 dims, legacy with 33 dims
    Bytes b = params_header(1);
    put_array(b, {2, -1}, MX_FLOAT32, "").put<uint64_t>(0);
    write_file(path, b.s);
    expect_bad_params(path, "negative");
    b = params_header(1);
    put_array(b, {1}, 1234, "xxxx").put<uint64_t>(0);
    write_file(path, b.s);
    expect_bad_params(path, "dtype");
    b = params_header(1).put<uint32_t>(0xF993fac8).put<uint32_t>(0x80000000u);
    write_file(path, b.s);
    expect_bad_params(path, "ndim");
    b = params_header(1).put<uint32_t>(33);
    write_file(path, b.s);
    expect_bad_params(path, "offset 24");
  }
  expect_normal_load_works(tmp);
}

TEST(Params, DirectoriesAndDevicesAreErrorsNamingThePath) {
  TempDir tmp;
  const std::string dir = tmp.file("a_dir.params");
  fs::create_directories(dir);
  int32_t code = 0;
  std::string err = load_error(dir, &code);
  EXPECT_EQ(code, MX_ERR_IO) << err;
  EXPECT_HAS(err, dir);
  EXPECT_HAS(err, "directory");
  err = load_error("/dev/zero", &code);  // no size to check against: not a file to load
  EXPECT_EQ(code, MX_ERR_IO) << err;
  EXPECT_HAS(err, "/dev/zero");
  EXPECT_HAS(err, "not a regular file");
  err = load_error(tmp.file("missing.params"), &code);
  EXPECT_EQ(code, MX_ERR_NOT_FOUND) << err;  // as every reader reports a missing file
  EXPECT_HAS(err, "missing.params");
  expect_normal_load_works(tmp);
}

TEST(Params, SavingAKeyWithNulIsRefused) {
  // The C API cannot pass one (const char*), but the core must never write a file it would refuse.
  TempDir tmp;
  init_through_the_c_api();
  try {
    mx::save_params(tmp.file("k.params"), {mx::NDArray(mx::Shape{1}, MX_FLOAT32, mx::cpu())},
                    {std::string("a\0b", 3)});
    ADD_FAILURE() << "saved a key holding NUL";
  } catch (const mx::Error& e) {
    EXPECT_EQ(e.code(), MX_ERR_INVALID_ARGUMENT);
    EXPECT_HAS(e.what(), "NUL");
  }
  expect_normal_load_works(tmp);
}

TEST(Params, TheMemoryEntryPointFindsTheSameErrors) {
  init_through_the_c_api();
  Bytes b = params_header(1);
  put_array(b, {int64_t(1) << 32, int64_t(1) << 32}, MX_FLOAT32, "").put<uint64_t>(0);
  std::vector<mx::NDArray> arrays;
  std::vector<std::string> keys;
  try {
    mx::load_params(b.s.data(), b.s.size(), "buffer.params", arrays, keys);
    ADD_FAILURE() << "loaded";
  } catch (const mx::Error& e) {
    EXPECT_EQ(e.code(), MX_ERR_IO);
    EXPECT_HAS(e.what(), "buffer.params");
    EXPECT_HAS(e.what(), "offset 36");
  }
  b = params_header(1);
  put_array(b, {2}, MX_FLOAT32, float_bytes({7, 8})).put<uint64_t>(1).put<uint64_t>(1).raw("k");
  mx::load_params(b.s.data(), b.s.size(), "buffer.params", arrays, keys);
  ASSERT_EQ(arrays.size(), 1u);
  ASSERT_EQ(keys, std::vector<std::string>{"k"});
  std::vector<float> got(2);
  arrays[0].copy_to_host(got.data(), 8);
  EXPECT_EQ(got, (std::vector<float>{7, 8}));
}

// ---------------------------------------------------------------- child processes

struct ChildResult {
  bool killed = false;  // past the time or memory cap
  std::string why;      // which cap
  int exit_code = -1;
  long maxrss_mb = 0;
  std::string output;
};

long rss_mb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/statm");
  long size = 0, resident = 0;
  in >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE) / (1 << 20);
}

// Runs `Child.<test>` of this binary with MX_FILES_CHILD=<arg>; kills it past timeout_s or rss_cap_mb.
ChildResult run_child(const std::string& test, const std::string& arg, const TempDir& tmp, int timeout_s = 60,
                      long rss_cap_mb = 1500) {
  const std::string log = tmp.file("child_" + test + ".log");
  const std::string filter = "--gtest_filter=Child." + test;
  char exe[] = "/proc/self/exe";
  char* argv[] = {exe, const_cast<char*>(filter.c_str()), nullptr};
  std::vector<std::string> env_store;
  for (char** e = environ; *e; ++e) env_store.emplace_back(*e);
  env_store.push_back("MX_FILES_CHILD=" + arg);
  std::vector<char*> envp;
  for (auto& s : env_store) envp.push_back(s.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = 0;
  ChildResult r;
  const int rc = posix_spawn(&pid, exe, &fa, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    r.why = std::string("posix_spawn: ") + std::strerror(rc);
    return r;
  }
  const auto start = std::chrono::steady_clock::now();
  int status = 0;
  struct rusage ru {};
  for (;;) {
    const pid_t done = wait4(pid, &status, WNOHANG, &ru);
    if (done == pid) break;
    const long mb = rss_mb(pid);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (secs > timeout_s || mb > rss_cap_mb) {
      r.killed = true;
      r.why = secs > timeout_s ? "still running after " + std::to_string(timeout_s) + " s"
                               : "RSS reached " + std::to_string(mb) + " MB";
      kill(pid, SIGKILL);
      wait4(pid, &status, 0, &ru);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.maxrss_mb = ru.ru_maxrss / 1024;
  std::ifstream in(log);
  r.output.assign(std::istreambuf_iterator<char>(in), {});
  return r;
}

// The child's argument, or skip: Child.* tests run only when a parent test starts them.
#define CHILD_ARG(var)                                                    \
  const char* var##_env = std::getenv("MX_FILES_CHILD");                  \
  if (!var##_env) GTEST_SKIP() << "runs only as a child of another test"; \
  const std::string var = var##_env

std::string error_of_iter(const char* name, std::vector<std::pair<std::string, std::string>> params) {
  std::vector<const char*> k, v;
  for (auto& [key, val] : params) {
    k.push_back(key.c_str());
    v.push_back(val.c_str());
  }
  mx_dataiter_t it = nullptr;
  if (mx_dataiter_create(name, uint32_t(k.size()), k.data(), v.data(), &it) == 0) {
    mx_dataiter_free(it);
    return "";
  }
  return mx_get_last_error();
}

// idx bytes: magic (unsigned bytes, ndim), big-endian dims.
std::string idx_header(const std::vector<uint32_t>& dims) {
  std::string s = {0, 0, 8, char(dims.size())};
  for (uint32_t d : dims)
    for (int sh = 24; sh >= 0; sh -= 8) s += char((d >> sh) & 0xff);
  return s;
}

// `data` as one gzip member.
std::string gzip_member(const std::string& data) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY), Z_OK);  // 15 + 16: gzip wrapper
  std::string out(deflateBound(&z, uLong(data.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = uInt(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

struct Mnist {
  std::string image, label;
};

// Two 2x2 images (pixels 0..7) and labels 3, 5.
Mnist small_mnist(const TempDir& tmp) {
  Mnist m{tmp.file("img.idx"), tmp.file("lbl.idx")};
  write_file(m.image, idx_header({2, 2, 2}) + std::string{0, 1, 2, 3, 4, 5, 6, 7});
  write_file(m.label, idx_header({2}) + std::string{3, 5});
  return m;
}

// MNISTIter over files that are fine: the pixels and labels as written.
void expect_mnist_works(const Mnist& m) {
  const char* keys[] = {"image", "label", "batch_size", "shuffle", "silent"};
  const char* vals[] = {m.image.c_str(), m.label.c_str(), "2", "False", "True"};
  mx_dataiter_t it = nullptr;
  ASSERT_OK(mx_dataiter_create("MNISTIter", 5, keys, vals, &it));
  int32_t has = 0;
  ASSERT_OK(mx_dataiter_next(it, &has));
  ASSERT_EQ(has, 1);
  mx_ndarray_t d = nullptr, l = nullptr;
  ASSERT_OK(mx_dataiter_get_data(it, &d));
  ASSERT_OK(mx_dataiter_get_label(it, &l));
  std::vector<float> data(8), label(2);
  EXPECT_OK(mx_ndarray_copy_to_host(d, data.data(), 32));
  EXPECT_OK(mx_ndarray_copy_to_host(l, label.data(), 8));
  for (int i = 0; i < 8; ++i) EXPECT_EQ(data[size_t(i)], float(i) / 256.0f);
  EXPECT_EQ(label, (std::vector<float>{3, 5}));
  mx_ndarray_free(d);
  mx_ndarray_free(l);
  mx_dataiter_free(it);
}

// "image|label|expect": MNISTIter on those files; expect "ok" or a text the error must hold.
TEST(Child, MnistOn) {
  CHILD_ARG(arg);
  const size_t a = arg.find('|'), b = arg.rfind('|');
  const std::string image = arg.substr(0, a), label = arg.substr(a + 1, b - a - 1), expect = arg.substr(b + 1);
  const std::string err = error_of_iter("MNISTIter", {{"image", image}, {"label", label}, {"silent", "True"}});
  if (expect == "ok") {
    EXPECT_EQ(err, "");
  } else {
    EXPECT_EQ(mx_get_last_error_code(), MX_ERR_IO) << err;
    EXPECT_HAS(err, expect);
  }
}

// "data_csv": CSVIter on it must fail naming it.
TEST(Child, CsvOn) {
  CHILD_ARG(path);
  const std::string err = error_of_iter("CSVIter", {{"data_csv", path}, {"data_shape", "(2,)"}, {"batch_size", "1"}});
  EXPECT_HAS(err, path);
}

// "fifo|label": a FIFO fed a valid idx header for 2 2x2 images, then bytes without end.
TEST(Child, MnistOnAnEndlessFifo) {
  CHILD_ARG(arg);
  const std::string fifo = arg.substr(0, arg.find('|')), label = arg.substr(arg.find('|') + 1);
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  signal(SIGPIPE, SIG_IGN);
  std::atomic<bool> stop{false};
  std::atomic<long long> written{0};
  std::thread writer([&] {
    int fd = -1;
    while (!stop && (fd = open(fifo.c_str(), O_WRONLY | O_NONBLOCK)) < 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (fd < 0) return;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    const std::string head = idx_header({2, 2, 2});
    std::string chunk(1 << 16, '\x11');
    chunk.replace(0, head.size(), head);
    for (bool first = true; !stop; first = false) {
      const ssize_t n = write(fd, first ? chunk.data() : chunk.data() + head.size(), chunk.size() - (first ? 0 : head.size()));
      if (n <= 0) break;  // EPIPE: the reader is gone
      written += n;
    }
    close(fd);
  });
  const std::string err = error_of_iter("MNISTIter", {{"image", fifo}, {"label", label}, {"silent", "True"}});
  stop = true;
  writer.join();
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_IO) << err;
  EXPECT_HAS(err, fifo);
}

// "fifo": every opener on a FIFO that no one writes to: errors, where open(2) waited forever.
TEST(Child, OpenersOnAFifoWithoutWriter) {
  CHILD_ARG(fifo);
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  uint32_t n = 0, nk = 0;
  mx_ndarray_t* arrs = nullptr;
  const char** keys = nullptr;
  EXPECT_EQ(mx_ndarray_load(fifo.c_str(), &n, &arrs, &nk, &keys), -1);
  EXPECT_HAS(mx_get_last_error(), "not a regular file (a FIFO)");
  mx_recordio_reader_t r = nullptr;
  EXPECT_EQ(mx_recordio_reader_create(fifo.c_str(), &r), -1);
  EXPECT_HAS(mx_get_last_error(), "not a regular file (a FIFO)");
  EXPECT_HAS(error_of_iter("CSVIter", {{"data_csv", fifo}, {"data_shape", "(2,)"}, {"batch_size", "1"}}), "FIFO");
  // a stream is fine for idx (the header bounds it), but this one ends before its header
  EXPECT_HAS(error_of_iter("MNISTIter", {{"image", fifo}, {"label", fifo}, {"silent", "True"}}), "too short");
}

// ---------------------------------------------------------------- idx / MNISTIter

TEST(Mnist, AGzipBombStopsAtTheSizeTheHeaderDeclares) {
  TempDir tmp;
  const Mnist good = small_mnist(tmp);
  // 256 MB of zeros behind a header declaring 2 images of 2x2: 256 gzip members of 1 MB of zeros
  // each (zlib reads concatenated members as one stream), about 260 KB in all
  const std::string bomb = tmp.file("bomb.gz");
  {
    const std::string zeros = gzip_member(std::string(1 << 20, '\0'));
    std::string bytes = gzip_member(idx_header({2, 2, 2}));
    for (int i = 0; i < 256; ++i) bytes += zeros;
    write_file(bomb, bytes);
  }
  EXPECT_LT(fs::file_size(bomb), 1u << 20);
  const ChildResult control = run_child("MnistOn", good.image + "|" + good.label + "|ok", tmp);
  ASSERT_FALSE(control.killed) << control.why << "\n" << control.output;
  ASSERT_EQ(control.exit_code, 0) << control.output;
  const ChildResult r = run_child("MnistOn", bomb + "|" + good.label + "|bomb.gz", tmp);
  ASSERT_FALSE(r.killed) << r.why << "\n" << r.output;
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // Before: the whole 256 MB was decompressed into memory before the header was checked.
  EXPECT_LT(r.maxrss_mb - control.maxrss_mb, 64) << "peak RSS " << r.maxrss_mb << " MB, control " << control.maxrss_mb
                                                 << " MB";
  expect_mnist_works(good);
}

TEST(Mnist, DevZeroEndsWithAnErrorQuickly) {
  TempDir tmp;
  const Mnist good = small_mnist(tmp);
  // Before: read until memory ran out (killed here at the RSS cap).
  const ChildResult r = run_child("MnistOn", "/dev/zero|" + good.label + "|/dev/zero", tmp, 60, 1024);
  ASSERT_FALSE(r.killed) << r.why << "\n" << r.output;
  EXPECT_EQ(r.exit_code, 0) << r.output;
  expect_mnist_works(good);
}

TEST(Mnist, AnEndlessStreamIsReadOnlyAsFarAsTheHeaderDeclares) {
  TempDir tmp;
  const Mnist good = small_mnist(tmp);
  const ChildResult r = run_child("MnistOnAnEndlessFifo", tmp.file("fifo") + "|" + good.label, tmp, 60, 1024);
  ASSERT_FALSE(r.killed) << r.why << "\n" << r.output;
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(Files, AFifoWithoutWriterIsAnErrorNotAHang) {
  TempDir tmp;
  const ChildResult r = run_child("OpenersOnAFifoWithoutWriter", tmp.file("quiet_fifo"), tmp, 30);
  ASSERT_FALSE(r.killed) << r.why << "\n" << r.output;
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(Mnist, HeadersThatPromiseMoreThanTheFileHoldsAreErrors) {
  TempDir tmp;
  const Mnist good = small_mnist(tmp);
  const std::string path = tmp.file("claims.idx");
  // 2^62 bytes of images; (0, 2^32-1, 2^32-1): no images, but a sample of 2^64 pixels; 1000
  // images promised, 8 bytes present (plain and gzip)
  const std::vector<std::pair<std::vector<uint32_t>, std::string>> cases = {
      {{1u << 30, 1u << 16, 1u << 16}, "byte 4"}, {{0, 0xffffffffu, 0xffffffffu}, "byte 4"}, {{1000, 2, 2}, "truncated"}};
  for (const auto& [dims, part] : cases) {
    write_file(path, idx_header(dims) + std::string(8, '\1'));
    std::string err = error_of_iter("MNISTIter", {{"image", path}, {"label", good.label}, {"silent", "True"}});
    EXPECT_EQ(mx_get_last_error_code(), MX_ERR_IO) << err;
    EXPECT_HAS(err, path);
    EXPECT_HAS(err, part);
    const std::string gz = tmp.file("claims.gz");
    gzFile f = gzopen(gz.c_str(), "wb");
    const std::string bytes = idx_header(dims) + std::string(8, '\1');
    gzwrite(f, bytes.data(), unsigned(bytes.size()));
    gzclose(f);
    err = error_of_iter("MNISTIter", {{"image", gz}, {"label", good.label}, {"silent", "True"}});
    EXPECT_EQ(mx_get_last_error_code(), MX_ERR_IO) << err;
    EXPECT_HAS(err, gz);
    EXPECT_HAS(err, part);
  }
  // trailing bytes after what the header declares
  write_file(path, idx_header({2, 2, 2}) + std::string(9, '\1'));
  EXPECT_HAS(error_of_iter("MNISTIter", {{"image", path}, {"label", good.label}, {"silent", "True"}}), "trailing");
  expect_mnist_works(good);
}

TEST(Mnist, ADirectoryIsAnErrorNamingIt) {
  TempDir tmp;
  const Mnist good = small_mnist(tmp);
  const std::string dir = tmp.file("images_dir");
  fs::create_directories(dir);
  const std::string err = error_of_iter("MNISTIter", {{"image", dir}, {"label", good.label}, {"silent", "True"}});
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_IO) << err;
  EXPECT_HAS(err, dir);
  EXPECT_HAS(err, "directory");
  expect_mnist_works(good);
}

// ---------------------------------------------------------------- RecordIO, image records

TEST(RecordIO, ADirectoryIsAnErrorNotAnEmptyFile) {
  TempDir tmp;
  const std::string dir = tmp.file("records.rec");
  fs::create_directories(dir);
  mx_recordio_reader_t r = nullptr;
  // Before: opened, and read as an empty file.
  ASSERT_EQ(mx_recordio_reader_create(dir.c_str(), &r), -1) << "opened a directory";
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_IO);
  EXPECT_HAS(mx_get_last_error(), dir);
  EXPECT_HAS(mx_get_last_error(), "directory");
  ASSERT_EQ(mx_recordio_reader_create("/dev/zero", &r), -1) << "opened /dev/zero";
  EXPECT_HAS(mx_get_last_error(), "not a regular file");
  // its .idx
  uint64_t n = 0;
  const int64_t* keys = nullptr;
  const uint64_t* offs = nullptr;
  ASSERT_EQ(mx_recordio_read_index(dir.c_str(), &n, &keys, &offs), -1) << "read a directory as an empty index";
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_IO);
  EXPECT_HAS(mx_get_last_error(), dir);
  ASSERT_EQ(mx_recordio_read_index("/dev/zero", &n, &keys, &offs), -1);
  EXPECT_HAS(mx_get_last_error(), "/dev/zero");
  // an index offset that is not a number
  const std::string idx = tmp.file("neg.idx");
  write_file(idx, "0\t0\n1\t-8\n");
  ASSERT_EQ(mx_recordio_read_index(idx.c_str(), &n, &keys, &offs), -1) << "read offset -8 as " << (n > 1 ? offs[1] : 0);
  EXPECT_HAS(mx_get_last_error(), "line 2");
  // ImageRecordIter on a directory
  const std::string err = error_of_iter("ImageRecordIter",
                                        {{"path_imgrec", dir}, {"data_shape", "(3,4,4)"}, {"batch_size", "1"}});
  EXPECT_HAS(err, dir);
  EXPECT_HAS(err, "directory");
  // and a normal file still reads
  const std::string rec = tmp.file("ok.rec");
  mx_recordio_writer_t w = nullptr;
  ASSERT_OK(mx_recordio_writer_create(rec.c_str(), nullptr, &w));
  ASSERT_OK(mx_recordio_writer_write(w, "hello", 5));
  ASSERT_OK(mx_recordio_writer_free(w));
  ASSERT_OK(mx_recordio_reader_create(rec.c_str(), &r));
  const void* data = nullptr;
  uint64_t size = 0;
  ASSERT_OK(mx_recordio_reader_read(r, &data, &size));
  EXPECT_EQ(std::string(static_cast<const char*>(data), size), "hello");
  mx_recordio_reader_free(r);
}

TEST(ImageRecordIter, HugeParamsAreErrorsNotOverflows) {
  TempDir tmp;
  const std::string rec = tmp.file("one.rec");
  mx_recordio_writer_t w = nullptr;
  ASSERT_OK(mx_recordio_writer_create(rec.c_str(), nullptr, &w));
  for (int i = 0; i < 2; ++i) ASSERT_OK(mx_recordio_writer_write(w, std::string(30, '\0').data(), 30));
  ASSERT_OK(mx_recordio_writer_free(w));
  // records * part_index overflowed int64 in the share computation (2 * 2^62): part 2^62 of
  // 2^63 - 1 holds no record
  std::string err = error_of_iter("ImageRecordIter", {{"path_imgrec", rec},
                                                      {"data_shape", "(3,4,4)"},
                                                      {"batch_size", "1"},
                                                      {"num_parts", "9223372036854775807"},
                                                      {"part_index", "4611686018427387904"}});
  EXPECT_HAS(err, "part 4611686018427387904");
  EXPECT_HAS(err, "has no records");
  err = error_of_iter("ImageRecordIter",
                      {{"path_imgrec", rec}, {"data_shape", "(3,4294967296,4294967296)"}, {"batch_size", "1"}});
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_INVALID_ARGUMENT) << err;
  EXPECT_HAS(err, "data_shape");
}

// ---------------------------------------------------------------- CSV

TEST(CSV, ADataShapeWhoseProductOverflowsIsAnError) {
  TempDir tmp;
  const std::string csv = tmp.file("d.csv");
  write_file(csv, "1,2,3\n4,5,6\n");
  // (2^33+1) * (2^31+1) wraps to 2^33 + 2^31 + 1: the old message asked rows for that many values
  for (const char* shape : {"(8589934593,2147483649)", "(4294967296,4294967296)", "(3037000500,3037000500)"}) {
    const std::string err = error_of_iter("CSVIter", {{"data_csv", csv}, {"data_shape", shape}, {"batch_size", "1"}});
    EXPECT_EQ(mx_get_last_error_code(), MX_ERR_INVALID_ARGUMENT) << err;
    EXPECT_HAS(err, "data_shape");
    EXPECT_HAS(err, "2^63");
  }
  // a label_shape whose product overflows, and a batch that makes the batch shape overflow
  std::string err = error_of_iter(
      "CSVIter", {{"data_csv", csv}, {"data_shape", "(3,)"}, {"label_shape", "(4294967296,4294967296)"}, {"batch_size", "1"}});
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_INVALID_ARGUMENT) << err;
  EXPECT_HAS(err, "label_shape");
  err = error_of_iter("CSVIter", {{"data_csv", csv}, {"data_shape", "(4611686018427387904,)"}, {"batch_size", "4"}});
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_INVALID_ARGUMENT) << err;
  // values that do not fit the integer dtype are errors naming line and column, not UB casts
  write_file(csv, "1,2,3\n4,1e30,6\n");
  err = error_of_iter("CSVIter", {{"data_csv", csv}, {"data_shape", "(3,)"}, {"batch_size", "1"}, {"dtype", "int32"}});
  EXPECT_HAS(err, "line 2, column 2");
  // and the same file as float32 loads
  EXPECT_EQ(error_of_iter("CSVIter", {{"data_csv", csv}, {"data_shape", "(3,)"}, {"batch_size", "1"}}), "");
}

TEST(CSV, DirectoriesAndEndlessDevicesAreErrors) {
  TempDir tmp;
  const std::string dir = tmp.file("csv_dir");
  fs::create_directories(dir);
  const std::string err = error_of_iter("CSVIter", {{"data_csv", dir}, {"data_shape", "(2,)"}, {"batch_size", "1"}});
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_IO) << err;
  EXPECT_HAS(err, dir);
  EXPECT_HAS(err, "directory");
  // /dev/zero never ends a line: before, the line buffer grew until memory ran out
  const ChildResult r = run_child("CsvOn", "/dev/zero", tmp, 60, 1024);
  ASSERT_FALSE(r.killed) << r.why << "\n" << r.output;
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

}  // namespace
