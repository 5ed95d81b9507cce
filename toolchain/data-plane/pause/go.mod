// The pod sandbox's pause process, built here because no registry with registry.k8s.io/pause is reachable.
module eks-nginx/toolchain/pause

go 1.26
