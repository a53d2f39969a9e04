/* The image part: decoding and augmentation on OpenCV, a library loaded at run time
 * (libmx_image.so), so libmx.so links no OpenCV and a process that never decodes an image maps
 * none of it (Debian's OpenCV pulls in about 130 shared libraries).
 *
 * C only, like abi/: the part includes this header alone, never another core header. It exports
 * one symbol:
 *     int mx_image_init(mx_image_api* out);
 * The caller sets out->struct_size to the size of the table it knows; the part fills at most that
 * much, sets struct_size to what it filled and returns 0. The loader rejects another abi_major and
 * never calls a slot beyond the struct_size the part declared.
 *
 * Randomness contract: decode_augment draws every random number of a sample from one
 * std::mt19937_64 seeded with rng_seed (uniform reals through std::uniform_real_distribution<double>,
 * the PCA noise through std::normal_distribution<double>, integers as rng() % n), in the order of
 * the augmenter chain, so a sample's augmentation depends on its seed alone, whatever the thread.
 *
 * Thread safety: decode_augment may be called from any number of threads at once. */
#ifndef MX_IO_IMAGE_API_H_
#define MX_IO_IMAGE_API_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MX_IMAGE_ABI_MAJOR 1
#define MX_IMAGE_ABI_MINOR 0

/* decode_augment's results besides 0 */
#define MX_IMAGE_UNDECODABLE 1 /* the bytes are not an image the part can decode */
#define MX_IMAGE_FAILED 2      /* anything else; the message is in err */

/* MXNet's default augmenter chain (ImageRecordIter's params), applied in this order: resize the
 * shorter side, rotate, crop (random-resized, random or center), mirror, brightness / contrast /
 * saturation jitter and PCA lighting noise, then (x - mean) / std * scale per RGB channel. */
typedef struct mx_image_augment_params {
  uint32_t struct_size;  /* sizeof(mx_image_augment_params) as the caller knows it */
  int32_t inter;         /* MXNet's inter_method: 0 nearest, 1 linear, 2 cubic, 3 area, 4 lanczos,
                            9 auto (area when shrinking, else cubic), 10 random among 0-4 */
  int64_t height, width; /* the output (data_shape's H, W), > 0 */
  int64_t resize;        /* the shorter side first resized to this (<= 0: no) */
  int32_t rand_crop;     /* crop at a random position (else the center) */
  int32_t random_resized_crop; /* crop a random area and aspect ratio, resized to height x width */
  int32_t rand_mirror;   /* flip horizontally with probability 1/2 */
  int32_t reserved;
  double min_area, max_area, min_ratio, max_ratio; /* random_resized_crop's ranges */
  double max_rotate;     /* degrees: rotate by U(-a, a) */
  double brightness, contrast, saturation, pca_noise;
  double mean[3], std[3], scale; /* per RGB channel */
} mx_image_augment_params;

typedef struct mx_image_api {
  uint32_t struct_size;
  uint16_t abi_major, abi_minor;
  const char* name;    /* "opencv" */
  const char* version; /* the OpenCV it was built with, e.g. "4.6.0" */

  /* Decodes n bytes (JPEG, PNG, anything the decoder reads) to 8-bit colour, augments them with a
   * std::mt19937_64 seeded with rng_seed and writes 3 * height * width floats, RGB planes (CHW),
   * to out. Returns 0, MX_IMAGE_UNDECODABLE, or MX_IMAGE_FAILED with a NUL-terminated message of
   * at most err_len bytes (truncated) in err. */
  int (*decode_augment)(const void* bytes, uint64_t n, const mx_image_augment_params* p, uint64_t rng_seed,
                        float* out, char* err, uint64_t err_len);
} mx_image_api;

typedef int (*mx_image_init_fn)(mx_image_api* out);

#ifdef __cplusplus
}
#endif

#endif /* MX_IO_IMAGE_API_H_ */
