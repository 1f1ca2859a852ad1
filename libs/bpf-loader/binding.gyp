{
  "targets": [
    {
      "target_name": "bpf_loader",
      "sources": [
        "native/addon.c",
        "native/errors.c",
        "native/napi_util.c",
        "native/libbpf_log.c",
        "native/strbuf.c",
        "native/object.c",
        "native/link.c",
        "native/map.c",
        "native/probe.c",
        "native/btf_names.c",
        "native/ringbuf.c",
        "native/prog_stats.c",
        "native/process.c"
      ],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Werror"],
      "defines": ["NAPI_VERSION=8"],
      "libraries": ["-lbpf", "-lelf", "-lz", "-lpthread"]
    },
    {
      "target_name": "ft-sandbox",
      "type": "executable",
      "sources": ["native/sandbox/ft-sandbox.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Werror"],
      "ldflags": ["-static"]
    }
  ]
}
