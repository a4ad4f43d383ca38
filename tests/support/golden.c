/* Line-oriented parser for the golden fixtures: "case <name>", "<key> <n> <values>", "end". */
#define _POSIX_C_SOURCE 200809L /* getline */
#include "tests/support/golden.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct golden_file {
  FILE* file;
  char* line;
  size_t capacity;
};

golden_file* golden_open(const char* name) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", QEQ_GOLDEN_DIR, name);
  FILE* file = fopen(path, "r");
  if (file == NULL) {
    printf("cannot open golden fixture %s\n", path);
    return NULL;
  }
  golden_file* f = calloc(1, sizeof *f);
  f->file = file;
  return f;
}

static void clear_case(golden_case* c) {
  for (size_t i = 0; i < c->field_count; i++) free(c->fields[i].values);
  c->field_count = 0;
  c->name[0] = '\0';
}

int golden_next(golden_file* f, golden_case* c) {
  clear_case(c);
  int in_case = 0;
  while (getline(&f->line, &f->capacity, f->file) > 0) {
    char* line = f->line;
    line[strcspn(line, "\n")] = '\0';
    if (line[0] == '#' || line[0] == '\0') continue;
    if (strncmp(line, "case ", 5) == 0) {
      snprintf(c->name, sizeof c->name, "%s", line + 5);
      in_case = 1;
      continue;
    }
    if (strcmp(line, "end") == 0) return in_case;
    if (!in_case || c->field_count == sizeof c->fields / sizeof c->fields[0]) return 0;
    golden_field* field = &c->fields[c->field_count++];
    char* cursor = line;
    const size_t key_len = strcspn(cursor, " ");
    snprintf(field->key, sizeof field->key, "%.*s", (int)key_len, cursor);
    cursor += key_len;
    field->count = strtoul(cursor, &cursor, 10);
    field->values = calloc(field->count ? field->count : 1, sizeof(double));
    for (size_t i = 0; i < field->count; i++) field->values[i] = strtod(cursor, &cursor);
  }
  return 0;
}

void golden_close(golden_file* f, golden_case* c) {
  clear_case(c);
  if (f == NULL) return;
  fclose(f->file);
  free(f->line);
  free(f);
}

const golden_field* golden_get(const golden_case* c, const char* key) {
  for (size_t i = 0; i < c->field_count; i++) {
    if (strcmp(c->fields[i].key, key) == 0) return &c->fields[i];
  }
  return NULL;
}

long golden_int(const golden_case* c, const char* key) {
  const golden_field* f = golden_get(c, key);
  return f != NULL && f->count > 0 ? (long)f->values[0] : 0;
}

void golden_floats(const golden_case* c, const char* key, float* out, size_t count) {
  const golden_field* f = golden_get(c, key);
  for (size_t i = 0; i < count; i++) out[i] = f != NULL && i < f->count ? (float)f->values[i] : 0;
}
