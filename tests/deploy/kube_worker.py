"""The worker's part of deploy/k8s/maplink.yaml, for `podman play kube`.

    kube_worker.py MANIFEST REDIS_URL   prints the ConfigMap and the worker Deployment
    kube_worker.py MANIFEST --probe     prints the port and path of the worker's
                                        readiness probe (podman runs no probes)

The pod runs on the host's network, outside any cluster, so two things differ from the
manifest: the ConfigMap's MAPLINK_REDIS_URL is REDIS_URL (the name "redis" does not
resolve there), and the container's `ports` list is left out (podman maps no ports on
the host's network and refuses a pod that lists any); a probe naming a port gets its
number. Everything else in the two documents is the manifest's own.
"""

import sys

import yaml


def load(path):
    with open(path) as f:
        return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(f) if d}


def main():
    manifest, arg = sys.argv[1], sys.argv[2]
    docs = load(manifest)
    config = docs[("ConfigMap", "maplink")]
    worker = docs[("Deployment", "maplink-worker")]
    container = worker["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container.pop("ports", [])}
    for probe in ("livenessProbe", "readinessProbe"):
        get = container.get(probe, {}).get("httpGet")
        if get and isinstance(get["port"], str):
            get["port"] = ports[get["port"]]
    if arg == "--probe":
        probe = container["readinessProbe"]["httpGet"]
        print(probe["port"], probe["path"])
        return
    config["data"]["MAPLINK_REDIS_URL"] = arg
    yaml.safe_dump_all([config, worker], sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()
