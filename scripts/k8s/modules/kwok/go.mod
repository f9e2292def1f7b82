// Throwaway module that builds kwok (simulated nodes and pods, as `kwokctl --runtime binary` runs it).
// kwok v0.8.0 requires the v0.36.1 staging modules; they are pinned to the control plane's v0.36.3
// so that both builds share compiled packages and talk to the same API version.
module delivery.local/k8s-kwok

go 1.26.0

require sigs.k8s.io/kwok v0.8.0

replace (
	k8s.io/api => k8s.io/api v0.36.3
	k8s.io/apimachinery => k8s.io/apimachinery v0.36.3
	k8s.io/apiserver => k8s.io/apiserver v0.36.3
	k8s.io/client-go => k8s.io/client-go v0.36.3
	k8s.io/component-base => k8s.io/component-base v0.36.3
	k8s.io/cri-api => k8s.io/cri-api v0.36.3
	k8s.io/cri-client => k8s.io/cri-client v0.36.3
	k8s.io/cri-streaming => k8s.io/cri-streaming v0.36.3
	k8s.io/streaming => k8s.io/streaming v0.36.3
)
