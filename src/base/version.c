#include <qeq/common.h>

#define QEQ_STR_(x) #x
#define QEQ_STR(x) QEQ_STR_(x)

int qeq_version(void) {
  return QEQ_VERSION;
}

const char* qeq_version_string(void) {
  return QEQ_STR(QEQ_VERSION_MAJOR) "." QEQ_STR(QEQ_VERSION_MINOR) "." QEQ_STR(QEQ_VERSION_PATCH);
}
