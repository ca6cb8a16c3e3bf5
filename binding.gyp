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
      "sources": ["native/udp.c", "native/udp-connected.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "conditions": [
        ["OS!='linux'", { "type": "none", "sources": [] }]
      ]
    }
  ]
}
