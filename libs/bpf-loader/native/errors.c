#include "errors.h"

#include <stdlib.h>
#include <string.h>

#include "napi_util.h"
#include "strbuf.h"

struct error_classes {
  napi_ref bpf_error;
  napi_ref verifier_error;
  napi_ref not_supported_error;
};

static void free_classes(napi_env env, void *data, void *hint) {
  struct error_classes *c = data;
  napi_delete_reference(env, c->bpf_error);
  napi_delete_reference(env, c->verifier_error);
  napi_delete_reference(env, c->not_supported_error);
  free(c);
}

static bool ref_class(napi_env env, napi_value classes, const char *name, napi_ref *out) {
  napi_value ctor;
  napi_valuetype t;
  if (napi_get_named_property(env, classes, name, &ctor) != napi_ok ||
      napi_typeof(env, ctor, &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, NULL, "bpf-loader native init: missing error class");
    return false;
  }
  return napi_create_reference(env, ctor, 1, out) == napi_ok;
}

// init({ BpfError, VerifierError, NotSupportedError })
napi_value errors_init(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  struct error_classes *c = calloc(1, sizeof(*c));
  if (!c || !ref_class(env, argv[0], "BpfError", &c->bpf_error) ||
      !ref_class(env, argv[0], "VerifierError", &c->verifier_error) ||
      !ref_class(env, argv[0], "NotSupportedError", &c->not_supported_error)) {
    free(c);
    return NULL;
  }
  NAPI_CALL(env, napi_set_instance_data(env, c, free_classes, NULL));
  return NULL;
}

static napi_value throw_new(napi_env env, napi_ref (*pick)(struct error_classes *), size_t argc, napi_value *argv) {
  struct error_classes *c = NULL;
  napi_value ctor, err;
  if (napi_get_instance_data(env, (void **)&c) != napi_ok || !c) {
    napi_throw_error(env, NULL, "bpf-loader native: init() was not called");
    return NULL;
  }
  NAPI_CALL(env, napi_get_reference_value(env, pick(c), &ctor));
  NAPI_CALL(env, napi_new_instance(env, ctor, argc, argv, &err));
  napi_throw(env, err);
  return NULL;
}

static napi_ref pick_bpf(struct error_classes *c) { return c->bpf_error; }
static napi_ref pick_verifier(struct error_classes *c) { return c->verifier_error; }
static napi_ref pick_not_supported(struct error_classes *c) { return c->not_supported_error; }

napi_value throw_bpf_error(napi_env env, const char *op, int err, const char *subject, const char *libbpf_output) {
  napi_value argv[4] = {make_string(env, op), make_u32(env, (uint32_t)err), make_string(env, subject),
                        make_string(env, libbpf_output)};
  return throw_new(env, pick_bpf, 4, argv);
}

napi_value throw_not_supported(napi_env env, const char *feature, const char *detail) {
  napi_value argv[2] = {make_string(env, feature), make_string(env, detail)};
  return throw_new(env, pick_not_supported, 2, argv);
}

// libbpf (1.x) retries a rejected load with a log buffer and prints
//   "libbpf: prog 'NAME': -- BEGIN PROG LOAD LOG --\n<log>-- END PROG LOAD LOG --\n"
// using a buffer it grows until the whole log fits, so this block is the complete kernel log.
static const char begin_marker[] = "': -- BEGIN PROG LOAD LOG --\n";
static const char end_marker[] = "-- END PROG LOAD LOG --";
static const char prog_marker[] = "prog '";

napi_value throw_load_error(napi_env env, int err, const char *out) {
  const char *begin = out ? strstr(out, begin_marker) : NULL;
  const char *end = begin ? strstr(begin, end_marker) : NULL;
  if (!begin || !end) return throw_bpf_error(env, "load", err, "", out);

  // The program name sits between the last "prog '" before the marker and the marker.
  const char *name = NULL;
  for (const char *p = out; (p = strstr(p, prog_marker)) && p < begin; p++) name = p + strlen(prog_marker);
  struct strbuf program = {0};
  if (name) strbuf_append(&program, name, (size_t)(begin - name));
  const char *log = begin + strlen(begin_marker);
  struct strbuf log_text = {0};
  strbuf_append(&log_text, log, (size_t)(end - log));

  napi_value argv[4] = {make_string(env, program.data), make_u32(env, (uint32_t)err),
                        make_string(env, log_text.data), make_string(env, out)};
  strbuf_free(&program);
  strbuf_free(&log_text);
  return throw_new(env, pick_verifier, 4, argv);
}
