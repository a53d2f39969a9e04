// The C API of the io module: data iterators and RecordIO files.
#include <cstddef>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "c_api/border.h"
#include "c_api/handles.h"
#include "io/iter.h"
#include "io/recordio.h"
#include "plugin/registry.h"

using namespace mx::capi;

namespace {

mx::io::DataIter& iter_of(mx_dataiter_t h, const char* fn) {
  return *deref(h, fn).it;
}

const mx::io::Batch& batch_of(mx_dataiter_t h, const char* fn) {
  const mx::io::Batch& b = iter_of(h, fn).value();
  if (!b.data.defined()) mx::fail(MX_ERR_INVALID_ARGUMENT, fn, ": no current batch (call mx_dataiter_next first)");
  return b;
}

// Per-iterator info built once and kept for the life of the library.
struct IterInfoStore {
  std::vector<std::unique_ptr<std::string>> strings;
  std::vector<const char*> names, types, defaults, docs;
  mx_dataiter_info info{};
};

thread_local std::vector<int64_t> t_keys;
thread_local std::vector<float> t_labels;
thread_local std::string t_record;
thread_local std::vector<uint64_t> t_offsets;

}  // namespace

extern "C" {

int mx_dataiter_list(uint32_t* out_num, const char*** out_names) {
  API_BEGIN();
  need(out_num, "mx_dataiter_list", "out_num");
  need(out_names, "mx_dataiter_list", "out_names");
  static const std::vector<const char*>* names = [] {
    auto* v = new std::vector<const char*>();
    for (const auto& s : mx::io::iterators()) v->push_back(s.name.c_str());
    return v;
  }();
  *out_num = uint32_t(names->size());
  *out_names = const_cast<const char**>(names->data());
  API_END();
}

int mx_dataiter_get_info(const char* name, mx_dataiter_info* out) {
  API_BEGIN();
  need(name, "mx_dataiter_get_info", "name");
  need(out, "mx_dataiter_get_info", "out");
  const mx::io::IterSpec* spec = nullptr;
  for (const auto& s : mx::io::iterators())
    if (s.name == name) spec = &s;
  if (!spec) mx::fail(MX_ERR_NOT_FOUND, "mx_dataiter_get_info: unknown data iterator '", name, "'");
  static std::mutex mu;
  static auto* store = new std::unordered_map<const mx::io::IterSpec*, std::unique_ptr<IterInfoStore>>();
  std::lock_guard<std::mutex> lk(mu);
  auto& slot = (*store)[spec];
  if (!slot) {
    auto st = std::make_unique<IterInfoStore>();
    for (const auto& p : spec->params) {
      st->names.push_back(p.name.c_str());
      st->types.push_back(param_type_name(p, st->strings));
      st->defaults.push_back(p.default_value.c_str());
      st->docs.push_back(p.doc.c_str());
    }
    mx_dataiter_info& i = st->info;
    i.struct_size = sizeof(i);
    i.name = spec->name.c_str();
    i.doc = spec->doc.c_str();
    i.num_params = uint32_t(st->names.size());
    i.param_names = st->names.data();
    i.param_types = st->types.data();
    i.param_defaults = st->defaults.data();
    i.param_docs = st->docs.data();
    slot = std::move(st);
  }
  write_sized(out, slot->info, "mx_dataiter_get_info");
  API_END();
}

int mx_dataiter_create(const char* name, uint32_t num_params, const char** keys, const char** vals, mx_dataiter_t* out) {
  API_BEGIN();
  need(name, "mx_dataiter_create", "name");
  need(out, "mx_dataiter_create", "out");
  mx::plugin::runtime_init();
  auto it = mx::io::create_iter(name, int(num_params), keys, vals);
  *out = issue(mx_dataiter{std::move(it)});
  API_END();
}

int mx_dataiter_free(mx_dataiter_t it) {
  API_BEGIN();
  release(it, "mx_dataiter_free");
  API_END();
}

int mx_dataiter_next(mx_dataiter_t it, int32_t* out_has_next) {
  API_BEGIN();
  need(out_has_next, "mx_dataiter_next", "out_has_next");
  *out_has_next = iter_of(it, "mx_dataiter_next").next() ? 1 : 0;
  API_END();
}

int mx_dataiter_reset(mx_dataiter_t it) {
  API_BEGIN();
  iter_of(it, "mx_dataiter_reset").reset();
  API_END();
}

int mx_dataiter_get_data(mx_dataiter_t it, mx_ndarray_t* out) {
  API_BEGIN();
  need(out, "mx_dataiter_get_data", "out");
  *out = issue(mx_ndarray{batch_of(it, "mx_dataiter_get_data").data});
  API_END();
}

int mx_dataiter_get_label(mx_dataiter_t it, mx_ndarray_t* out) {
  API_BEGIN();
  need(out, "mx_dataiter_get_label", "out");
  *out = issue(mx_ndarray{batch_of(it, "mx_dataiter_get_label").label});
  API_END();
}

int mx_dataiter_get_pad(mx_dataiter_t it, int32_t* out_pad) {
  API_BEGIN();
  need(out_pad, "mx_dataiter_get_pad", "out_pad");
  *out_pad = batch_of(it, "mx_dataiter_get_pad").pad;
  API_END();
}

int mx_dataiter_get_index(mx_dataiter_t it, const uint64_t** out_index, uint64_t* out_size) {
  API_BEGIN();
  need(out_index, "mx_dataiter_get_index", "out_index");
  need(out_size, "mx_dataiter_get_index", "out_size");
  const auto& b = batch_of(it, "mx_dataiter_get_index");
  *out_index = b.index.data();
  *out_size = b.index.size();
  API_END();
}

// ---------------------------------------------------------------- RecordIO

int mx_recordio_writer_create(const char* path, const char* idx_path, mx_recordio_writer_t* out) {
  API_BEGIN();
  need(path, "mx_recordio_writer_create", "path");
  need(out, "mx_recordio_writer_create", "out");
  *out = issue(std::unique_ptr<mx_recordio_writer>(
      new mx_recordio_writer{mx::io::RecordWriter(path, idx_path ? idx_path : "")}));
  API_END();
}

int mx_recordio_writer_write(mx_recordio_writer_t w, const void* data, uint64_t size) {
  API_BEGIN();
  auto& wr = deref(w, "mx_recordio_writer_write").w;
  if (size) need(data, "mx_recordio_writer_write", "data");
  wr.write(data, size);
  API_END();
}

int mx_recordio_writer_write_keyed(mx_recordio_writer_t w, int64_t key, const void* data, uint64_t size) {
  API_BEGIN();
  auto& wr = deref(w, "mx_recordio_writer_write_keyed").w;
  if (size) need(data, "mx_recordio_writer_write_keyed", "data");
  wr.write_keyed(key, data, size);
  API_END();
}

int mx_recordio_writer_tell(mx_recordio_writer_t w, uint64_t* out_pos) {
  API_BEGIN();
  auto& wr = deref(w, "mx_recordio_writer_tell").w;
  need(out_pos, "mx_recordio_writer_tell", "out_pos");
  *out_pos = wr.tell();
  API_END();
}

int mx_recordio_writer_free(mx_recordio_writer_t w) {
  API_BEGIN();
  if (!w) return 0;
  // Out of the table first: a failing close still frees the writer (and reports the failure).
  std::unique_ptr<mx_recordio_writer> owned(
      static_cast<mx_recordio_writer*>(handle_remove(reinterpret_cast<uintptr_t>(w), Kind::kRecordWriter,
                                                     "mx_recordio_writer_free")));
  owned->w.close();
  API_END();
}

int mx_recordio_reader_create(const char* path, mx_recordio_reader_t* out) {
  API_BEGIN();
  need(path, "mx_recordio_reader_create", "path");
  need(out, "mx_recordio_reader_create", "out");
  *out = issue(std::unique_ptr<mx_recordio_reader>(new mx_recordio_reader{mx::io::RecordReader(path), {}}));
  API_END();
}

int mx_recordio_reader_read(mx_recordio_reader_t r, const void** out_data, uint64_t* out_size) {
  API_BEGIN();
  auto& rd = deref(r, "mx_recordio_reader_read");
  need(out_data, "mx_recordio_reader_read", "out_data");
  need(out_size, "mx_recordio_reader_read", "out_size");
  if (rd.r.read(rd.record)) {
    *out_data = rd.record.data();
    *out_size = rd.record.size();
  } else {
    *out_data = nullptr;
    *out_size = 0;
  }
  API_END();
}

int mx_recordio_reader_seek(mx_recordio_reader_t r, uint64_t pos) {
  API_BEGIN();
  deref(r, "mx_recordio_reader_seek").r.seek(pos);
  API_END();
}

int mx_recordio_reader_tell(mx_recordio_reader_t r, uint64_t* out_pos) {
  API_BEGIN();
  auto& rd = deref(r, "mx_recordio_reader_tell").r;
  need(out_pos, "mx_recordio_reader_tell", "out_pos");
  *out_pos = rd.tell();
  API_END();
}

int mx_recordio_reader_free(mx_recordio_reader_t r) {
  API_BEGIN();
  release(r, "mx_recordio_reader_free");
  API_END();
}

int mx_recordio_unpack_image(const void* record, uint64_t size, mx_image_record_header* out_header,
                             const float** out_labels, uint32_t* out_num_labels, const void** out_payload,
                             uint64_t* out_payload_size) {
  API_BEGIN();
  const char* fn = "mx_recordio_unpack_image";
  if (size) need(record, fn, "record");
  need(out_header, fn, "out_header");
  need(out_labels, fn, "out_labels");
  need(out_num_labels, fn, "out_num_labels");
  need(out_payload, fn, "out_payload");
  need(out_payload_size, fn, "out_payload_size");
  t_record.assign(static_cast<const char*>(record), size);
  mx::io::ImageRecordHeader h;
  const char* payload = nullptr;
  size_t n = 0;
  mx::io::unpack_image_record(t_record, h, t_labels, payload, n);
  mx_image_record_header out{sizeof(mx_image_record_header), h.flag, h.label, h.id, h.id2};
  write_sized(out_header, out, fn);
  *out_labels = t_labels.data();
  *out_num_labels = uint32_t(t_labels.size());
  *out_payload = payload;
  *out_payload_size = n;
  API_END();
}

int mx_recordio_pack_image(const mx_image_record_header* header, const float* labels, uint32_t num_labels,
                           const void* payload, uint64_t payload_size, const void** out_record, uint64_t* out_size) {
  API_BEGIN();
  const char* fn = "mx_recordio_pack_image";
  need(header, fn, "header");
  if (num_labels) need(labels, fn, "labels");
  if (payload_size) need(payload, fn, "payload");
  need(out_record, fn, "out_record");
  need(out_size, fn, "out_size");
  if (header->struct_size < offsetof(mx_image_record_header, id2) + sizeof(uint64_t))
    mx::fail(MX_ERR_INVALID_ARGUMENT, fn, ": header struct_size ", header->struct_size, " is too small");
  mx::io::ImageRecordHeader h;
  h.flag = header->flag, h.label = header->label, h.id = header->id, h.id2 = header->id2;
  t_record = mx::io::pack_image_record(h, std::vector<float>(labels, labels + num_labels), payload, payload_size);
  *out_record = t_record.data();
  *out_size = t_record.size();
  API_END();
}

int mx_recordio_read_index(const char* idx_path, uint64_t* out_num, const int64_t** out_keys, const uint64_t** out_offsets) {
  API_BEGIN();
  need(idx_path, "mx_recordio_read_index", "idx_path");
  need(out_num, "mx_recordio_read_index", "out_num");
  need(out_keys, "mx_recordio_read_index", "out_keys");
  need(out_offsets, "mx_recordio_read_index", "out_offsets");
  const auto entries = mx::io::read_index(idx_path);
  t_keys.clear();
  t_offsets.clear();
  for (const auto& e : entries) {
    t_keys.push_back(e.key);
    t_offsets.push_back(e.offset);
  }
  *out_num = entries.size();
  *out_keys = t_keys.data();
  *out_offsets = t_offsets.data();
  API_END();
}

}  // extern "C"
