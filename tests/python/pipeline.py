"""What a user without alexa runs: tshark (contract v2's oracle command), pandas
to turn its fields into the dataset's columns (../shared/spec/features.md),
and scikit-learn to classify them with the shipped tree (echo_tree.py).

pipeline.py CAPTURE DEVICE_IP OUT.csv [--model MODEL.json] [--microphone 0|1] [--print-tshark]

Without --model it stops at the dataset (the columns `alexa extract` writes
up to `synchronized`); with it, it adds `predicted`. UDP rows are
`not_relevant` by the contract's rule, as in alexa.
"""

import argparse
import json
import subprocess

import numpy as np
import pandas as pd

# The oracle command's fields (features.md, "The oracle"), first occurrence each.
FIELDS = [
    "frame.time_epoch",
    "ip.src",
    "ip.dst",
    "ip.len",
    "ipv6.src",
    "ipv6.dst",
    "ipv6.plen",
    "tcp.stream",
    "tcp.dstport",
    "tcp.flags.ack",
    "udp.dstport",
    "udp.length",
    "frame.protocols",
    "tls.record.content_type",
    "tls.record.opaque_type",
]
LAYER = {"tls": 0, "ssl": 0, "tcp": 1, "data": 2, "http": 3}
TCP_LAYERS = {"tcp", "tls", "ssl", "data", "http"}


def tshark_command(capture):
    cmd = ["tshark", "-n", "-r", capture, "-T", "fields", "-E", "occurrence=f"]
    for f in FIELDS:
        cmd += ["-e", f]
    return cmd


def tshark(capture):
    cmd = tshark_command(capture)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    frame = pd.read_csv(
        proc.stdout,
        sep="\t",
        names=FIELDS,
        header=None,
        dtype=str,
        keep_default_na=False,
        quoting=3,
    )
    if proc.wait() != 0:
        raise SystemExit(f"tshark failed on {capture}")
    return frame


def dataset(frame, device, microphone):
    v4 = frame["ip.src"] == device
    v6 = frame["ipv6.src"] == device
    tcp = frame["tcp.stream"] != ""
    udp = (frame["udp.dstport"] != "") & ~tcp
    d = frame[(v4 | v6) & (tcp | udp)].copy()
    tcp = d["tcp.stream"] != ""
    is_v4 = d["ip.src"] == device
    epoch = d["frame.time_epoch"].str.split(".", n=1, expand=True)
    us = epoch[0].astype(np.int64) * 1_000_000 + epoch[1].str[:6].str.ljust(6, "0").astype(np.int64)
    ip_len = pd.to_numeric(d["ip.len"], errors="coerce")
    ip6_len = pd.to_numeric(d["ipv6.plen"], errors="coerce")
    last = d["frame.protocols"].str.rsplit(":", n=1).str[-1]
    ct = d["tls.record.content_type"].where(d["tls.record.content_type"] != "", d["tls.record.opaque_type"])
    layer = last.map(LAYER).fillna(3).astype(np.int64)
    # Wireshark 3+ names a segment holding part of a record TLS with no record: TCP.
    layer = layer.where(~((layer == 0) & (ct == "")), 1)
    udp_payload = pd.to_numeric(d["udp.length"], errors="coerce").fillna(8) > 8
    layer = layer.where(tcp, np.where(udp_payload, 2, 1))
    # delta: whole ms since the connection's previous SSL/TCP-layer packet.
    clocked = tcp & (layer <= 1)
    delta = pd.Series(0, index=d.index, dtype=np.int64)
    stream = d.loc[clocked, "tcp.stream"]
    delta[clocked] = (us[clocked].groupby(stream).diff().fillna(0) // 1000).astype(np.int64)
    ack = d["tcp.flags.ack"].isin(["1", "True"]).astype(np.int64) * tcp
    out = pd.DataFrame(
        {
            "date": pd.to_datetime(us, unit="us").dt.strftime("%Y-%m-%d %H:%M:%S.%f"),
            "length": np.where(is_v4, 14 + ip_len, 54 + ip6_len).astype(np.int64),
            "dstip": d["ip.dst"].where(is_v4, d["ipv6.dst"]),
            "dstport": pd.to_numeric(d["tcp.dstport"].where(tcp, d["udp.dstport"])).astype(np.int64),
            "highest_layer": layer,
            "delta": delta,
            "ack_flag": ack,
            "microphone": microphone,
            "content_type": pd.to_numeric(ct.where(tcp, ""), errors="coerce").astype("Int64"),
            "synchronized": 1,
        }
    )
    return out, tcp


def main():
    p = argparse.ArgumentParser()
    p.add_argument("capture")
    p.add_argument("device")
    p.add_argument("out")
    p.add_argument("--model")
    p.add_argument("--microphone", type=int, default=1)
    p.add_argument("--print-tshark", action="store_true", help="print the tshark command (JSON) and stop")
    a = p.parse_args()
    if a.print_tshark:
        print(json.dumps(tshark_command(a.capture)))
        return
    out, tcp = dataset(tshark(a.capture), a.device, a.microphone)
    if a.model:
        import echo_tree

        clf, features, classes = echo_tree.load(a.model)
        x = out[features].fillna(0).to_numpy(dtype=np.float32)
        predicted = np.full(len(out), classes.index("not_relevant"), dtype=np.int64)
        if tcp.any():
            predicted[tcp.to_numpy()] = clf.predict(x[tcp.to_numpy()])
        out["predicted"] = np.array(classes)[predicted]
    out.to_csv(a.out, index=False)


if __name__ == "__main__":
    main()
