{
  "targets": [
    {
      "target_name": "overpass_tun",
      "sources": ["native/tun.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "conditions": [
        ["OS!='linux'", { "type": "none", "sources": [] }]
      ]
    },
    {
      "target_name": "overpass_hrtimer",
      "sources": ["native/hrtimer.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "conditions": [
        ["OS!='linux'", { "type": "none", "sources": [] }]
      ]
    },
    {
      "target_name": "overpass_udp",
      "sources": ["native/udp.c", "native/udp-connected.c", "native/transit.c", "native/exit-flows.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "variables": {
        "have_sodium": "<!(pkg-config --exists libsodium 2>/dev/null && echo 1 || echo 0)"
      },
      "conditions": [
        ["OS!='linux'", { "type": "none", "sources": [] }],
        ["have_sodium==1", {
          "defines": ["OVERPASS_HAVE_SODIUM"],
          "libraries": ["-lsodium"]
        }]
      ]
    }
  ]
}
