import * as assert from "assert";
import { configMap, registrations, runProgramExpectingError, stageConfig, writeTempKubeconfig } from "../harness/mocks";

interface BadCase {
    title: string;
    /** Changes on top of the dev stage's config. */
    set: Record<string, unknown>;
    /** Each must appear in the message: the key, the bad value, what is accepted. */
    expect: RegExp[];
}

const SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB me@laptop";
const cluster = (overrides: Record<string, unknown>) => ({
    instanceTypes: ["t2.micro"], desiredSize: 3, minSize: 1, maxSize: 4, ...overrides,
});

const CASES: BadCase[] = [
    { title: "negative replicas", set: { replicas: "-1" }, expect: [/replicas = -1: expected an integer from 0 to 1000/] },
    { title: "fractional replicas", set: { replicas: "1.5" }, expect: [/replicas = "1\.5": expected an integer from 0 to 1000/] },
    { title: "port 0", set: { port: "0" }, expect: [/port = 0: expected an integer from 1 to 65535/] },
    { title: "port above 65535", set: { port: "70000" }, expect: [/port = 70000: expected an integer from 1 to 65535/] },
    { title: "containerPort not a number", set: { containerPort: "http" }, expect: [/containerPort = "http": expected an integer from 1 to 65535/] },
    { title: "image with upper case", set: { image: "NGINX:1.27" }, expect: [/image = "NGINX:1\.27": expected an image reference/] },
    { title: "image with an empty tag", set: { image: "nginx:" }, expect: [/image = "nginx:": expected an image reference/] },
    { title: "image with a space", set: { image: "nginx 1.27" }, expect: [/image = "nginx 1\.27": expected an image reference/] },
    { title: "image of blanks", set: { image: " " }, expect: [/image = " ": expected an image reference/] },
    { title: "a value of a megabyte (shown cut, refused unread)", set: { image: "a".repeat(1 << 20) },
        expect: [/image = "a{199}… \(1048578 characters\): expected at most 256 KiB of text \(it is 1048576 characters\)/] },
    { title: "image with a trailing space (answered at once: the check is linear)", set: { image: "nginxinc/nginx-unprivileged:1.28.0 " },
        expect: [/image = "nginxinc\/nginx-unprivileged:1\.28\.0 ": expected an image reference/] },
    { title: "container name not a DNS label", set: { containerName: "Nginx_Container" },
        expect: [/containerName = "Nginx_Container": expected a DNS label/] },
    { title: "negative drainSeconds", set: { drainSeconds: "-5" }, expect: [/drainSeconds = -5: expected a number of seconds from 0 to 300/] },
    { title: "drainSeconds not a number", set: { drainSeconds: "5s" }, expect: [/drainSeconds = "5s": expected a number of seconds from 0 to 300/] },
    { title: "app name not a DNS label", set: { appName: "Sample_App" }, expect: [/appName = "Sample_App": expected a DNS label/] },
    { title: "app name whose Service name would be longer than 63", set: { appName: `a${"b".repeat(55)}` },
        expect: [/appName = "ab{55}": expected a DNS label .* of at most 55 characters, or 59 ending in -app: the Service is named <name without -app>-service, which Kubernetes takes up to 63/] },
    { title: "unknown service type", set: { serviceType: "Ingress" }, expect: [/serviceType = "Ingress": expected one of LoadBalancer, NodePort, ClusterIP/] },
    { title: "maxSurge above 100%", set: { maxSurge: "150%" }, expect: [/maxSurge = "150%": expected an integer ≥ 0 or a percentage from 0% to 100%/] },
    { title: "maxSurge in exponent notation", set: { maxSurge: "1e3" }, expect: [/maxSurge = "1e3": expected an integer ≥ 0 or a percentage/] },
    { title: "PDB maxUnavailable in exponent notation", set: { pdbMaxUnavailable: "9E1" }, expect: [/pdbMaxUnavailable = "9E1": expected an integer ≥ 1 or a percentage/] },
    { title: "a resource request above its limit", set: { resources: { requests: { cpu: "500m" }, limits: { cpu: "250m" } } },
        expect: [/resources\.requests\.cpu = "500m": expected at most the cpu limit \(resources\.limits\.cpu is 250m\)/] },
    { title: "maxSurge and maxUnavailable both 0", set: { maxSurge: "0", maxUnavailable: "0%" }, expect: [/maxSurge = 0: expected maxSurge and maxUnavailable not both 0/] },
    { title: "unknown flat key (typo)", set: { replica: "3" }, expect: [/replica = "3": expected no such key; known keys: target, appName/] },
    { title: "unknown target", set: { target: "gke" }, expect: [/target = "gke": expected one of eks, kubeconfig/] },
    { title: "bad resource quantity", set: { resources: { requests: { cpu: "lots", memory: "32Mi" }, limits: { cpu: "1", memory: "1Gi" } } },
        expect: [/resources\.requests\.cpu = "lots": expected a Kubernetes quantity for cpu/] },
    { title: "min above desired", set: { cluster: cluster({ minSize: 4, desiredSize: 3, maxSize: 4 }) },
        expect: [/cluster = \{"minSize":4,"desiredSize":3,"maxSize":4\}: expected minSize ≤ desiredSize ≤ maxSize/] },
    { title: "desired above max", set: { cluster: cluster({ desiredSize: 5, maxSize: 4 }) },
        expect: [/cluster = \{"minSize":1,"desiredSize":5,"maxSize":4\}: expected minSize ≤ desiredSize ≤ maxSize/] },
    { title: "node size not an integer", set: { cluster: cluster({ desiredSize: "three" }) },
        expect: [/cluster\.desiredSize = "three": expected an integer from 0 to 450/] },
    { title: "unknown instance type", set: { cluster: cluster({ instanceTypes: ["t2.nano"] }) },
        expect: [/cluster\.instanceTypes\.0 = "t2\.nano": expected one of t2\.micro, .*set cluster\.maxPodsPerNode/] },
    { title: "malformed instance type", set: { cluster: cluster({ instanceTypes: ["big box"] }) },
        expect: [/cluster\.instanceTypes\.0 = "big box": expected an EC2 instance type name/] },
    { title: "SSH open to the internet", set: { cluster: cluster({ ssh: { publicKey: SSH_KEY, allowedCidrs: ["0.0.0.0/0"] } }) },
        expect: [/cluster\.ssh\.allowedCidrs\.0 = "0\.0\.0\.0\/0": expected a network CIDR .*refused/] },
    { title: "CIDR with host bits", set: { cluster: cluster({ ssh: { publicKey: SSH_KEY, allowedCidrs: ["203.0.113.7/24"] } }) },
        expect: [/cluster\.ssh\.allowedCidrs\.0 = "203\.0\.113\.7\/24": expected a network CIDR/] },
    { title: "not a CIDR", set: { cluster: cluster({ ssh: { publicKey: SSH_KEY, allowedCidrs: ["my-office"] } }) },
        expect: [/cluster\.ssh\.allowedCidrs\.0 = "my-office": expected a network CIDR/] },
    { title: "SSH without CIDRs", set: { cluster: cluster({ ssh: { publicKey: SSH_KEY, allowedCidrs: [] } }) },
        expect: [/cluster\.ssh\.allowedCidrs = \[\]: expected at least one CIDR/] },
    { title: "SSH key that is not a public key", set: { cluster: cluster({ ssh: { publicKey: "-----BEGIN PRIVATE KEY-----", allowedCidrs: ["203.0.113.0/24"] } }) },
        expect: [/cluster\.ssh\.publicKey = "-----BEGIN PRIVATE KEY-----": expected an OpenSSH public key line/] },
    { title: "unknown cluster setting (typo)", set: { cluster: cluster({ desiredSzie: 3 }) },
        expect: [/cluster\.desiredSzie = 3: expected no such setting; known settings here: instanceTypes, desiredSize/] },
    { title: "capacity overflow on 3 × t2.micro", set: { replicas: "4" },
        expect: [/replicas = 4: expected a count that fits the node group; capacity: the app needs 5 pods .* 3 nodes × 4 pods \(t2\.micro under the VPC CNI\) = 12/] },
    { title: "empty replicas", set: { replicas: "" }, expect: [/replicas = "": expected an integer from 0 to 1000/] },
    { title: "empty port", set: { port: "" }, expect: [/port = "": expected an integer from 1 to 65535/] },
    { title: "image digest that is not sha256 hex", set: { image: "nginx@sha256:abc" }, expect: [/image = "nginx@sha256:abc": expected an image reference/] },
    { title: "namespace not a DNS label", set: { namespace: "Prod" }, expect: [/namespace = "Prod": expected a DNS label/] },
    { title: "maxUnavailable not a number or percentage", set: { maxUnavailable: "some" }, expect: [/maxUnavailable = "some": expected an integer ≥ 0 or a percentage/] },
    { title: "resources not an object", set: { resources: "[1,2]" }, expect: [/resources = \[1,2\]: expected an object \{requests: \{cpu, memory\}, limits: \{cpu, memory\}\}/] },
    { title: "kubeconfig set on the eks target", set: { kubeconfig: "/tmp/kubeconfig" }, expect: [/kubeconfig = "\/tmp\/kubeconfig": expected unset when target is eks/] },
    { title: "autoscaling min above max", set: { autoscaling: { enabled: true, minReplicas: 4, maxReplicas: 2 } },
        expect: [/autoscaling = \{"minReplicas":4,"maxReplicas":2\}: expected minReplicas ≤ maxReplicas/] },
    { title: "autoscaling target CPU 0", set: { autoscaling: { enabled: true, targetCpuUtilization: 0 } },
        expect: [/autoscaling\.targetCpuUtilization = 0: expected a CPU utilisation percentage, an integer from 1 to 100/] },
    { title: "autoscaling enabled not a boolean", set: { autoscaling: { enabled: "yes" } },
        expect: [/autoscaling\.enabled = "yes": expected true or false/] },
    { title: "autoscaling setting typo", set: { autoscaling: { enabled: true, maxReplica: 3 } },
        expect: [/autoscaling\.maxReplica = 3: expected no such setting; known settings here: enabled, minReplicas, maxReplicas, targetCpuUtilization/] },
    { title: "autoscaling maximum that overflows the node group", set: { autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 10 } },
        expect: [/autoscaling\.maxReplicas = 10: expected a count that fits the node group; capacity: the app needs 13 pods/] },
    { title: "PDB maxUnavailable 0", set: { pdbMaxUnavailable: "0" }, expect: [/pdbMaxUnavailable = 0: expected an integer ≥ 1 or a percentage from 1% to 100%/] },
    { title: "PDB maxUnavailable 0%", set: { pdbMaxUnavailable: "0%" }, expect: [/pdbMaxUnavailable = "0%": expected an integer ≥ 1 or a percentage/] },
    { title: "unknown topology spread", set: { topologySpread: "Sometimes" },
        expect: [/topologySpread = "Sometimes": expected one of ScheduleAnyway, DoNotSchedule, Off/] },
    { title: "an admin capability", set: { security: { capabilities: ["SYS_ADMIN"] } },
        expect: [/security\.capabilities\.0 = "SYS_ADMIN": expected each one of AUDIT_WRITE, .*refused/] },
    { title: "capability ALL", set: { security: { capabilities: ["ALL"] } },
        expect: [/security\.capabilities\.0 = "ALL": expected each one of/] },
    { title: "root user id", set: { security: { runAsNonRoot: true, runAsUser: 0 } },
        expect: [/security\.runAsUser = 0: expected a non-zero user id/] },
    { title: "user id without runAsNonRoot", set: { security: { runAsUser: 1000 } },
        expect: [/security\.runAsUser = 1000: expected unset unless security\.runAsNonRoot is true/] },
    { title: "rollout timeout too short", set: { rolloutTimeout: "5" }, expect: [/rolloutTimeout = 5: expected a number of seconds from 10 to 86400/] },
    { title: "rollout timeout not a number", set: { rolloutTimeout: "10m" }, expect: [/rolloutTimeout = "10m": expected a number of seconds/] },
    { title: "malformed KMS key ARN", set: { cluster: cluster({ kmsKeyArn: "alias/my-key" }) },
        expect: [/cluster\.kmsKeyArn = "alias\/my-key": expected a KMS key ARN/] },
    { title: "KMS key with encryption off", set: { cluster: cluster({ secretsEncryption: false,
        kmsKeyArn: "arn:aws:kms:ap-northeast-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" }) },
        expect: [/cluster\.kmsKeyArn = "arn:aws:kms:.*": expected unset when secretsEncryption is false/] },
    { title: "no API endpoint at all", set: { cluster: cluster({ endpointPublicAccess: false, endpointPrivateAccess: false }) },
        expect: [/cluster = \{"endpointPublicAccess":false,"endpointPrivateAccess":false\}: expected endpointPublicAccess or endpointPrivateAccess true/] },
    { title: "API CIDR with host bits", set: { cluster: cluster({ publicAccessCidrs: ["10.0.0.1/8"] }) },
        expect: [/cluster\.publicAccessCidrs\.0 = "10\.0\.0\.1\/8": expected an IPv4 network CIDR/] },
    { title: "IPv6 API CIDR", set: { cluster: cluster({ publicAccessCidrs: ["2001:db8::/32"] }) },
        expect: [/cluster\.publicAccessCidrs\.0 = "2001:db8::\/32": expected an IPv4 network CIDR/] },
    { title: "API CIDRs with the public endpoint off", set: { cluster: cluster({ endpointPublicAccess: false, publicAccessCidrs: ["203.0.113.0/24"] }) },
        expect: [/cluster\.publicAccessCidrs = \["203\.0\.113\.0\/24"\]: expected unset when endpointPublicAccess is false/] },
    { title: "secretsEncryption not a boolean", set: { cluster: cluster({ secretsEncryption: "on" }) },
        expect: [/cluster\.secretsEncryption = "on": expected true or false/] },
    // cluster: Kubernetes version, AMI type, node updates, guard rails
    { title: "a Kubernetes version the add-on table does not know", set: { cluster: cluster({ kubernetesVersion: "1.29" }) },
        expect: [/cluster\.kubernetesVersion = "1\.29": expected one of 1\.32, 1\.33, 1\.34 \(the Kubernetes minor versions stacks\/addonVersions\.ts pins add-on versions for; for another, add its row there\)/] },
    { title: "a Kubernetes version with a v", set: { cluster: cluster({ kubernetesVersion: "v1.34" }) },
        expect: [/cluster\.kubernetesVersion = "v1\.34": expected one of 1\.32, 1\.33, 1\.34/] },
    { title: "a Kubernetes version as a number", set: { cluster: cluster({ kubernetesVersion: 1.34 }) },
        expect: [/cluster\.kubernetesVersion = 1\.34: expected one of 1\.32, 1\.33, 1\.34/] },
    { title: "Amazon Linux 2 nodes", set: { cluster: cluster({ amiType: "AL2_x86_64" }) },
        expect: [/cluster\.amiType = "AL2_x86_64": expected one of AL2023_x86_64_STANDARD, BOTTLEROCKET_x86_64 \(Amazon Linux 2023 or Bottlerocket, x86_64 instance types\)/] },
    { title: "node updates with no node at a time", set: { cluster: cluster({ nodeUpdate: { maxUnavailable: 0 } }) },
        expect: [/cluster\.nodeUpdate\.maxUnavailable = 0: expected a node count from 1 to 100 or a percentage from 1% to 100% \(EKS's limits for a node group update\)/] },
    { title: "node updates of more than 100 nodes at a time", set: { cluster: cluster({ nodeUpdate: { maxUnavailable: 101 } }) },
        expect: [/cluster\.nodeUpdate\.maxUnavailable = 101: expected a node count from 1 to 100 or a percentage from 1% to 100%/] },
    { title: "node updates of 150%", set: { cluster: cluster({ nodeUpdate: { maxUnavailable: "150%" } }) },
        expect: [/cluster\.nodeUpdate\.maxUnavailable = "150%": expected a node count from 1 to 100 or a percentage from 1% to 100%/] },
    { title: "node updates of 0%", set: { cluster: cluster({ nodeUpdate: { maxUnavailable: "0%" } }) },
        expect: [/cluster\.nodeUpdate\.maxUnavailable = "0%": expected a node count from 1 to 100 or a percentage/] },
    { title: "node updates given as a boolean", set: { cluster: cluster({ nodeUpdate: { maxUnavailable: true } }) },
        expect: [/cluster\.nodeUpdate\.maxUnavailable = true: expected a node count from 1 to 100 or a percentage/] },
    { title: "auto repair not a boolean", set: { cluster: cluster({ nodeUpdate: { autoRepair: "yes" } }) },
        expect: [/cluster\.nodeUpdate\.autoRepair = "yes": expected true or false \(node auto repair\)/] },
    { title: "node update setting typo", set: { cluster: cluster({ nodeUpdate: { maxUnavailble: 2 } }) },
        expect: [/cluster\.nodeUpdate\.maxUnavailble = 2: expected no such setting; known settings here: maxUnavailable, autoRepair/] },
    { title: "node updates not an object", set: { cluster: cluster({ nodeUpdate: 2 }) },
        expect: [/cluster\.nodeUpdate = 2: expected an object \{maxUnavailable, autoRepair\}/] },
    { title: "deletion protection not a boolean", set: { cluster: cluster({ deletionProtection: "on" }) },
        expect: [/cluster\.deletionProtection = "on": expected true or false \(EKS deletion protection and Pulumi's protect on the cluster\)/] },
    { title: "an unknown support type", set: { cluster: cluster({ supportType: "extended" }) },
        expect: [/cluster\.supportType = "extended": expected one of STANDARD, EXTENDED \(EXTENDED: about six times the standard control-plane price per hour\)/] },
    { title: "SSH on Bottlerocket nodes", set: { cluster: cluster({ amiType: "BOTTLEROCKET_x86_64", ssh: { publicKey: SSH_KEY, allowedCidrs: ["203.0.113.0/24"] } }) },
        expect: [/cluster\.ssh = \{.*\}: expected unset when amiType is BOTTLEROCKET_x86_64 \(Bottlerocket nodes run no SSH server unless their admin container is turned on, which this program does not do; reach them with SSM Session Manager\)/] },
    // cluster.access: EKS access entries
    { title: "access principal that is not an ARN", set: { cluster: cluster({ access: [{ principalArn: "alice", access: "view" }] }) },
        expect: [/cluster\.access\.0\.principalArn = "alice": expected an IAM role or user ARN such as arn:aws:iam::123456789012:role\/platform-admins/] },
    { title: "access principal with a wildcard", set: { cluster: cluster({ access: [{ principalArn: "arn:aws:iam::123456789012:role/*", access: "admin" }] }) },
        expect: [/cluster\.access\.0\.principalArn = "arn:aws:iam::123456789012:role\/\*": expected an IAM role or user ARN .*no wildcards/] },
    { title: "access principal that is an assumed-role session", set: { cluster: cluster({ access: [{
        principalArn: "arn:aws:sts::123456789012:assumed-role/admins/alice", access: "admin" }] }) },
        expect: [/cluster\.access\.0\.principalArn = "arn:aws:sts::123456789012:assumed-role\/admins\/alice": expected .*no sts assumed-role sessions/] },
    { title: "access principal that is an IAM group", set: { cluster: cluster({ access: [{ principalArn: "arn:aws:iam::123456789012:group/devs", access: "edit" }] }) },
        expect: [/cluster\.access\.0\.principalArn = "arn:aws:iam::123456789012:group\/devs": expected an IAM role or user ARN/] },
    { title: "access principal with a short account id", set: { cluster: cluster({ access: [{ principalArn: "arn:aws:iam::12345:role/admins", access: "edit" }] }) },
        expect: [/cluster\.access\.0\.principalArn = "arn:aws:iam::12345:role\/admins": expected an IAM role or user ARN/] },
    { title: "access entry without a principal", set: { cluster: cluster({ access: [{ access: "view" }] }) },
        expect: [/cluster\.access\.0\.principalArn = \(unset\): expected an IAM role or user ARN/] },
    { title: "unknown access level", set: { cluster: cluster({ access: [{ principalArn: "arn:aws:iam::123456789012:role/admins", access: "owner" }] }) },
        expect: [/cluster\.access\.0\.access = "owner": expected one of admin, edit, view/] },
    { title: "access entry with an empty namespace list", set: { cluster: cluster({ access: [{
        principalArn: "arn:aws:iam::123456789012:role/web", access: "edit", namespaces: [] }] }) },
        expect: [/cluster\.access\.0\.namespaces = \[\]: expected at least one namespace \(leave namespaces unset for the whole cluster\)/] },
    { title: "access namespace that is not a DNS label", set: { cluster: cluster({ access: [{
        principalArn: "arn:aws:iam::123456789012:role/web", access: "edit", namespaces: ["web", "Web_Prod"] }] }) },
        expect: [/cluster\.access\.0\.namespaces\.1 = "Web_Prod": expected a DNS label/] },
    { title: "access namespace listed twice", set: { cluster: cluster({ access: [{
        principalArn: "arn:aws:iam::123456789012:role/web", access: "edit", namespaces: ["web", "web"] }] }) },
        expect: [/cluster\.access\.0\.namespaces = \["web","web"\]: expected each namespace listed once/] },
    { title: "the same principal twice (IAM names ignore case)", set: { cluster: cluster({ access: [
        { principalArn: "arn:aws:iam::123456789012:role/Admins", access: "admin" },
        { principalArn: "arn:aws:iam::123456789012:role/admins", access: "view", namespaces: ["web"] }] }) },
        expect: [/cluster\.access\.1\.principalArn = "arn:aws:iam::123456789012:role\/admins": expected a principal listed once \(it is already access\.0; EKS allows one access entry per principal\)/] },
    { title: "access entry setting typo", set: { cluster: cluster({ access: [{
        principalArn: "arn:aws:iam::123456789012:role/web", access: "edit", namespace: ["web"] }] }) },
        expect: [/cluster\.access\.0\.namespace = \["web"\]: expected no such setting; known settings here: principalArn, access, namespaces/] },
    { title: "access that is not a list", set: { cluster: cluster({ access: { principalArn: "arn:aws:iam::123456789012:role/web", access: "edit" } }) },
        expect: [/cluster\.access = \{.*\}: expected a list of \{principalArn, access, namespaces\} entries/] },
    // loadBalancer
    { title: "unknown load balancer type", set: { loadBalancer: { type: "alb" } },
        expect: [/loadBalancer\.type = "alb": expected one of classic \(AWS's legacy default, a Classic Load Balancer\) or nlb/] },
    { title: "unknown load balancer scheme", set: { loadBalancer: { scheme: "private" } },
        expect: [/loadBalancer\.scheme = "private": expected one of internet-facing or internal/] },
    { title: "source range with host bits", set: { loadBalancer: { sourceRanges: ["203.0.113.7/24"] } },
        expect: [/loadBalancer\.sourceRanges\.0 = "203\.0\.113\.7\/24": expected a network CIDR such as 203\.0\.113\.0\/24 or 2001:db8::\/32 \(no host bits set\)/] },
    { title: "source range that is not a CIDR", set: { loadBalancer: { sourceRanges: ["office"] } },
        expect: [/loadBalancer\.sourceRanges\.0 = "office": expected a network CIDR/] },
    { title: "source range 0.0.0.0/0", set: { loadBalancer: { sourceRanges: ["203.0.113.0/24", "0.0.0.0/0"] } },
        expect: [/loadBalancer\.sourceRanges\.1 = "0\.0\.0\.0\/0": expected .*not 0\.0\.0\.0\/0 or ::\/0: to open the load balancer to every address, leave sourceRanges unset and set allowInternet true/] },
    { title: "source range ::/0", set: { loadBalancer: { sourceRanges: ["::/0"] } },
        expect: [/loadBalancer\.sourceRanges\.0 = "::\/0": expected .*not 0\.0\.0\.0\/0 or ::\/0/] },
    { title: "empty source ranges", set: { loadBalancer: { sourceRanges: [] } },
        expect: [/loadBalancer\.sourceRanges = \[\]: expected at least one CIDR \(leave sourceRanges unset for every address\)/] },
    { title: "allowInternet not a boolean", set: { loadBalancer: { allowInternet: "yes" } },
        expect: [/loadBalancer\.allowInternet = "yes": expected true or false/] },
    { title: "allowInternet on an internal load balancer", set: { loadBalancer: { scheme: "internal", allowInternet: true } },
        expect: [/loadBalancer\.allowInternet = true: expected unset or false when scheme is internal/] },
    { title: "allowInternet together with source ranges", set: { loadBalancer: { sourceRanges: ["203.0.113.0/24"], allowInternet: true } },
        expect: [/loadBalancer\.allowInternet = true: expected unset or false when sourceRanges is set/] },
    { title: "load balancer setting typo", set: { loadBalancer: { sourceRange: ["203.0.113.0/24"] } },
        expect: [/loadBalancer\.sourceRange = \["203\.0\.113\.0\/24"\]: expected no such setting; known settings here: type, scheme, sourceRanges, allowInternet/] },
    { title: "load balancer settings that are not an object", set: { loadBalancer: "nlb" },
        expect: [/loadBalancer = "nlb": expected an object \{type, scheme, sourceRanges, allowInternet\}/] },
    { title: "load balancer settings on a NodePort Service", set: { serviceType: "NodePort", loadBalancer: { type: "nlb" } },
        expect: [/loadBalancer = \{"type":"nlb"\}: expected unset unless serviceType is LoadBalancer \(serviceType is NodePort\)/] },
];

describe(`bad config is refused before anything is registered (${CASES.length + 10} cases)`, () => {
    for (const c of CASES) {
        it(`refuses ${c.title}`, async () => {
            const message = await runProgramExpectingError({ ...stageConfig("dev"), ...configMap(c.set) });
            for (const pattern of c.expect) {
                assert.match(message, pattern);
            }
            assert.deepStrictEqual(registrations.map((r) => r.type), []);
        });
    }

    it("refuses cluster settings on the kubeconfig target", async () => {
        const kubeconfig = writeTempKubeconfig();
        const message = await runProgramExpectingError({ ...stageConfig("local"), ...configMap({ kubeconfig, cluster: cluster({}) }) });
        assert.match(message, /cluster = \{.*\}: expected unset when target is kubeconfig/);
        assert.deepStrictEqual(registrations, []);
    });

    for (const key of ["type", "scheme"]) {
        it(`refuses loadBalancer.${key} on the kubeconfig target (AWS annotations)`, async () => {
            const kubeconfig = writeTempKubeconfig();
            const value = key === "type" ? "nlb" : "internal";
            const message = await runProgramExpectingError({ ...stageConfig("local"),
                ...configMap({ kubeconfig, serviceType: "LoadBalancer", loadBalancer: { [key]: value } }) });
            assert.match(message, new RegExp(`loadBalancer\\.${key} = "${value}": expected unset when target is kubeconfig \\(type and scheme become AWS load balancer annotations, for the eks target only\\)`));
            assert.deepStrictEqual(registrations, []);
        });
    }

    const KUBECONFIG_FILES: [string, string, RegExp][] = [
        ["an empty kubeconfig file (the provider would fall back to an ambient kubeconfig)", "",
            /kubeconfig = ".*": expected a kubeconfig file, not an empty one \(the Kubernetes provider would take an empty kubeconfig as none/],
        ["a file that is not a kubeconfig", "just some notes\n", /kubeconfig = ".*": expected a kubeconfig file \(YAML or JSON with clusters and contexts\)/],
        ["a kubeconfig whose current-context is not among its contexts", "clusters: [{name: c, cluster: {server: https://127.0.0.1:1}}]\n" +
            "contexts: [{name: a, context: {cluster: c}}]\ncurrent-context: b\n", /kubeconfig = ".*": expected a kubeconfig whose current-context b exists: one of a/],
        ["a kubeconfig whose CA certificate is not one (no cluster identity)", "clusters: [{name: c, cluster: {server: https://127.0.0.1:1, certificate-authority-data: Q0E=}}]\n" +
            "contexts: [{name: a, context: {cluster: c}}]\ncurrent-context: a\n", /kubeconfig = ".*": expected a kubeconfig whose cluster c has a readable CA certificate, or clusterIdentifier set/],
        ["a kubeconfig whose context names no cluster with a server", "clusters: [{name: c, cluster: {}}]\n" +
            "contexts: [{name: a, context: {cluster: c}}]\ncurrent-context: a\n", /expected a context whose cluster has a server \(context a names cluster c, which has no server\)/],
    ];
    for (const [what, contents, pattern] of KUBECONFIG_FILES) {
        it(`refuses ${what}`, async () => {
            const message = await runProgramExpectingError({ ...stageConfig("local"), ...configMap({ kubeconfig: writeTempKubeconfig(contents) }) });
            assert.match(message, pattern);
            assert.deepStrictEqual(registrations, []);
        });
    }

    it("refuses a kubeContext the kubeconfig does not have, naming the ones it has", async () => {
        const message = await runProgramExpectingError({ ...stageConfig("local"), ...configMap({ kubeconfig: writeTempKubeconfig(), kubeContext: "kind-other" }) });
        assert.match(message, /kubeContext = "kind-other": expected a context of the kubeconfig: one of aws/);
        assert.deepStrictEqual(registrations, []);
    });

    it("refuses a kubeconfig file that does not exist", async () => {
        const message = await runProgramExpectingError({ ...stageConfig("local"), ...configMap({ kubeconfig: "/nonexistent/kubeconfig" }) });
        assert.match(message, /kubeconfig = "\/nonexistent\/kubeconfig": expected a readable kubeconfig file \(ENOENT\)/);
        assert.deepStrictEqual(registrations, []);
    });
});

