/* export.h: CINESIS_EXPORT marks the symbols of libcinesis's public interface. The library
 * is built with hidden visibility; only what carries this mark (and the linker's version
 * script allows) is exported from libcinesis.so. Plain C; safe to include from C and C++. */
#ifndef CINESIS_EXPORT_H_
#define CINESIS_EXPORT_H_

#if defined(__GNUC__) || defined(__clang__)
#define CINESIS_EXPORT __attribute__((visibility("default")))
#else
#define CINESIS_EXPORT
#endif

#endif /* CINESIS_EXPORT_H_ */
