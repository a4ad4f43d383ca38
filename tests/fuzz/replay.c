/* Replays fuzz inputs without libFuzzer, so the normal (and the sanitizer) build runs the
 * seed corpus and every committed crash input as a plain test: each argument is a file or a
 * directory of files. */
#define _POSIX_C_SOURCE 200809L /* opendir */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/fuzz/fuzz.h"

static size_t replayed;

static int replay_file(const char* path) {
  FILE* file = fopen(path, "rb");
  if (!file) return fprintf(stderr, "replay: cannot open %s\n", path), 1;
  uint8_t* data = NULL;
  size_t size = 0, cap = 0;
  for (;;) {
    if (size == cap && !(data = realloc(data, cap = cap * 2 + 4096))) return 1;
    const size_t got = fread(data + size, 1, cap - size, file);
    if (!got) break;
    size += got;
  }
  fclose(file);
  LLVMFuzzerTestOneInput(data, size);
  free(data);
  replayed++;
  return 0;
}

static int replay(const char* path) {
  struct stat st;
  if (stat(path, &st) != 0) return fprintf(stderr, "replay: no %s\n", path), 1;
  if (!S_ISDIR(st.st_mode)) return replay_file(path);
  DIR* dir = opendir(path);
  if (!dir) return 1;
  int failed = 0;
  for (struct dirent* e; (e = readdir(dir)) != NULL;) {
    if (e->d_name[0] == '.') continue;
    char child[4096];
    snprintf(child, sizeof child, "%s/%s", path, e->d_name);
    failed |= replay_file(child);
  }
  closedir(dir);
  return failed;
}

int main(int argc, char** argv) {
  int failed = 0;
  for (int i = 1; i < argc; i++) failed |= replay(argv[i]);
  printf("replay: %zu inputs, every promise kept\n", replayed);
  return failed;
}
