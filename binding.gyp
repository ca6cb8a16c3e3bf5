{
  "targets": [
    {
      "target_name": "overpass_tun",
      "sources": ["native/tun.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "conditions": [
        ["OS!='linux'", { "type": "none", "sources": [] }]
      ]
    }
  ]
}
