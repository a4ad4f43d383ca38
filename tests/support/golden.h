/* Reader for the golden fixture files written by tests/golden/generate.py. */
#ifndef QEQ_TESTS_SUPPORT_GOLDEN_H
#define QEQ_TESTS_SUPPORT_GOLDEN_H

#include <stddef.h>

typedef struct golden_field {
  char key[32];
  size_t count;
  double* values; /* every number as a double: float32 values and ints are exact */
} golden_field;

typedef struct golden_case {
  char name[128];
  size_t field_count;
  golden_field fields[32];
} golden_case;

typedef struct golden_file golden_file;

/* Opens tests/golden/<name>; NULL (after printing why) if it cannot. */
golden_file* golden_open(const char* name);
/* Reads the next case into *c (replacing the previous one); 0 at the end of the file. */
int golden_next(golden_file* f, golden_case* c);
void golden_close(golden_file* f, golden_case* c);

/* The field named key, or NULL. */
const golden_field* golden_get(const golden_case* c, const char* key);
/* Convenience: first value of a field as an int / its values as floats into out. */
long golden_int(const golden_case* c, const char* key);
void golden_floats(const golden_case* c, const char* key, float* out, size_t count);

#endif /* QEQ_TESTS_SUPPORT_GOLDEN_H */
