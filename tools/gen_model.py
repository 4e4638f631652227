#!/usr/bin/env python3
"""Compacts the botocore Kinesis service model into src/api/kinesis-model.json.

The compact model keeps what the server and client need at run time (operations,
shapes, members in order, required lists, min/max, patterns, enums, flags) and drops
documentation. A few limits that the service enforces but the model does not state
are added here, marked "service": true, so they are visible in one place.

Usage: tools/gen_model.py path/to/service-2.json > src/api/kinesis-model.json
"""
import json
import sys

# Limits enforced by the service but absent from the model (see docs/aws-behaviour.md).
SERVICE_SIDE = {
    ("CreateStreamInput", "ShardCount"): {"max": 100000},
    ("UpdateShardCountInput", "TargetShardCount"): {"max": 100000},
    # Only the minimum is a validation rule; above 8760 h the service answers
    # InvalidArgumentException "Maximum allowed retention period is 8760 hours. ..."
    # (the form kinesalite recorded against AWS when the maximum was 168 h).
    ("IncreaseStreamRetentionPeriodInput", "RetentionPeriodHours"): {"min": 1},
    ("DecreaseStreamRetentionPeriodInput", "RetentionPeriodHours"): {"min": 1},
}


# Enum value sets in the order the service prints them in ValidationException texts
# (recorded against AWS; the model lists them in another order).
ENUM_ORDER = {
    "ShardIteratorType": ["AFTER_SEQUENCE_NUMBER", "LATEST", "AT_TIMESTAMP", "AT_SEQUENCE_NUMBER", "TRIM_HORIZON"],
}


def main():
    src = json.load(open(sys.argv[1]))
    out = {"metadata": {k: src["metadata"][k] for k in ("apiVersion", "targetPrefix", "jsonVersion")},
           "operations": {}, "shapes": {}}
    for name, op in src["operations"].items():
        o = {}
        if "input" in op:
            o["input"] = op["input"]["shape"]
        if "output" in op:
            o["output"] = op["output"]["shape"]
        o["errors"] = [e["shape"] for e in op.get("errors", [])]
        out["operations"][name] = o
    for name, sh in src["shapes"].items():
        s = {"type": sh["type"]}
        for k in ("min", "max", "pattern", "enum", "exception", "fault", "eventstream", "event", "union"):
            if k in sh:
                s[k] = sh[k]
        if sh["type"] == "structure":
            s["members"] = []
            for mname, m in sh["members"].items():
                entry = {"name": mname, "shape": m["shape"]}
                extra = SERVICE_SIDE.get((name, mname))
                if extra:
                    entry["service"] = extra
                s["members"].append(entry)
            s["required"] = sh.get("required", [])
        elif sh["type"] == "list":
            s["member"] = sh["member"]["shape"]
        elif sh["type"] == "map":
            s["key"] = sh["key"]["shape"]
            s["value"] = sh["value"]["shape"]
        if name in ENUM_ORDER:
            assert sorted(ENUM_ORDER[name]) == sorted(s["enum"]), name
            s["enum"] = ENUM_ORDER[name]
        out["shapes"][name] = s
    json.dump(out, sys.stdout, indent=None, separators=(",", ":"), sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
