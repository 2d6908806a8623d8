package io.taskbatch.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.NodeSelectorRequirementBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.taskbatch.api.WorkersSpec;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Auto sizing as the scheduler counts (what other pods request, every resource the worker pod requests, per node) and
 * shared between the running auto batches: equally, by weight, water-filling what a batch does not need.
 */
class FairSizingTest {
    private static final OptionalLong UNKNOWN = OptionalLong.empty();

    @Test
    void twoBatchesShareEightFreeCoresFourAndFourAndOneAloneGetsAll() {
        var cluster = new WorkerSizer.Cluster(List.of(node("n1", "8", "32Gi")), List.of());
        var a = claim("ns/a", worker("1", "512Mi"), 1, 64, UNKNOWN);
        var b = claim("ns/b", worker("1", "512Mi"), 1, 64, UNKNOWN);

        assertThat(WorkerSizer.share(List.of(a, b), cluster)).containsEntry("ns/a", 4).containsEntry("ns/b", 4);
        var decision = WorkerSizer.size(auto(), a, cluster, List.of(b));
        assertThat(decision).isEqualTo(new WorkerSizer.Decision(4, "auto: 1 of 1 node eligible; 8 cores free, a worker requests "
                + "cpu 1, memory 512Mi: 8 fit; shared by 2 auto batches (weight 1 each) = 4"));
        // b finished: a grows to everything
        assertThat(WorkerSizer.size(auto(), a, cluster, List.of()).replicas()).isEqualTo(8);
    }

    @Test
    void otherPodsRequestsCountOnlyOnTheirNodeAndOnlyWhileTheyHoldIt() {
        var cluster = new WorkerSizer.Cluster(List.of(node("n1", "8", "32Gi"), node("n2", "4", "32Gi")), List.of(
                pod("web", "n1", "Running", Map.of(), container("3", "1Gi")),
                pod("db", "n2", "Pending", Map.of(), container("1500m", "1Gi")), // bound, starting: the scheduler counts it
                pod("unscheduled", null, "Pending", Map.of(), container("8", "1Gi")),
                pod("done", "n1", "Succeeded", Map.of(), container("8", "1Gi")),
                pod("old-worker", "n2", "Running", workerLabels("a"), container("1", "512Mi"))));
        var a = claim("ns/a", worker("1", "512Mi"), 1, 64, UNKNOWN);

        var decision = WorkerSizer.size(auto(), a, cluster, List.of());
        // n1: 8 - 3 = 5; n2: 4 - 1.5 = 2.5, floor 2; a's own running worker is placed anew, not subtracted
        assertThat(decision.replicas()).isEqualTo(7);
        assertThat(decision.reason()).contains("7.5 of 12 cores free").contains(": 7 fit");
    }

    @Test
    void aWorkerPodFitsByEveryResourceItRequestsPerNode() {
        // 2 nodes with 3 free cores each: 2-core workers fit one per node, not 6 / 2 = 3
        var cpuNodes = new WorkerSizer.Cluster(List.of(node("n1", "3", "32Gi"), node("n2", "3", "32Gi")), List.of());
        assertThat(WorkerSizer.size(auto(), claim("ns/a", worker("2", "1Gi"), 1, 64, UNKNOWN), cpuNodes, List.of()).replicas())
                .isEqualTo(2);
        // memory is the tighter resource: 64 cores but 4Gi
        var smallMemory = new WorkerSizer.Cluster(List.of(node("n1", "64", "4Gi")), List.of());
        assertThat(WorkerSizer.size(auto(), claim("ns/a", worker("1", "1Gi"), 1, 64, UNKNOWN), smallMemory, List.of()).replicas())
                .isEqualTo(4);
        // the node's pod limit counts too
        var fewPods = new WorkerSizer.Cluster(List.of(new NodeBuilder(node("n1", "64", "64Gi")).editStatus()
                .addToAllocatable("pods", new Quantity("3")).endStatus().build()), List.of(pod("dns", "n1", "Running", Map.of())));
        assertThat(WorkerSizer.size(auto(), claim("ns/a", worker("1", "1Gi"), 1, 64, UNKNOWN), fewPods, List.of()).replicas())
                .isEqualTo(2);
    }

    @Test
    void aGpuWorkerFitsByGpusOnlyOnNodesThatHaveThem() {
        Node gpu = new NodeBuilder(node("gpu", "32", "128Gi")).editStatus().addToAllocatable("nvidia.com/gpu", new Quantity("4"))
                .endStatus().build();
        Node cpu = node("cpu", "64", "256Gi");
        // a GPU already taken by another pod; the worker gives only a limit for the GPU, which the API server makes its request
        Pod training = pod("training", "gpu", "Running", Map.of(), new ContainerBuilder().withName("t").withNewResources()
                .addToLimits("nvidia.com/gpu", new Quantity("1")).endResources().build());
        PodSpec gpuWorker = new PodSpecBuilder().withContainers(new ContainerBuilder().withName("worker").withNewResources()
                .addToRequests("cpu", new Quantity("2")).addToRequests("memory", new Quantity("4Gi"))
                .addToLimits("nvidia.com/gpu", new Quantity("1")).endResources().build()).build();

        var decision = WorkerSizer.size(auto(), claim("ns/a", gpuWorker, 1, 64, UNKNOWN),
                new WorkerSizer.Cluster(List.of(gpu, cpu), List.of(training)), List.of());
        assertThat(decision.replicas()).isEqualTo(3);
        assertThat(decision.reason()).contains("a worker requests cpu 2, memory 4Gi, nvidia.com/gpu 1: 3 fit");
    }

    @Test
    void weightsShareInProportion() {
        var cluster = new WorkerSizer.Cluster(List.of(node("n1", "4", "32Gi"), node("n2", "4", "32Gi")), List.of());
        var heavy = claim("ns/heavy", worker("1", "512Mi"), 3, 64, UNKNOWN);
        var light = claim("ns/light", worker("1", "512Mi"), 1, 64, UNKNOWN);
        assertThat(WorkerSizer.share(List.of(heavy, light), cluster)).containsEntry("ns/heavy", 6).containsEntry("ns/light", 2);
        assertThat(WorkerSizer.size(auto(), light, cluster, List.of(heavy)).reason())
                .endsWith("; shared by 2 auto batches (weights: this one 1, ns/heavy 3) = 2");
    }

    @Test
    void aBatchThatNeedsLessLeavesTheRestToTheOthers() {
        var cluster = new WorkerSizer.Cluster(List.of(node("n1", "12", "32Gi")), List.of());
        var tail = claim("ns/a", worker("1", "512Mi"), 1, 64, OptionalLong.of(2)); // 2 tasks left, 1 slot each
        var capped = claim("ns/b", worker("1", "512Mi"), 1, 3, UNKNOWN);           // maxReplicas 3
        var hungry = claim("ns/c", worker("1", "512Mi"), 1, 64, UNKNOWN);
        assertThat(WorkerSizer.share(List.of(tail, capped, hungry), cluster))
                .containsEntry("ns/a", 2).containsEntry("ns/b", 3).containsEntry("ns/c", 7);
        assertThat(WorkerSizer.size(auto(), tail, cluster, List.of(capped, hungry)).reason())
                .endsWith("; capped by work left (2 tasks, 1 slot each) = 2");
    }

    @Test
    void sharesNeverAddUpToMoreThanFitsWithMixedShapes() {
        List<Node> nodes = List.of(node("n1", "7", "16Gi"), node("n2", "5", "16Gi"), node("n3", "3", "8Gi"));
        var cluster = new WorkerSizer.Cluster(nodes, List.of(pod("other", "n1", "Running", Map.of(), container("1", "2Gi"))));
        var claims = List.of(claim("ns/a", worker("2", "3Gi"), 1, 64, UNKNOWN), claim("ns/b", worker("1", "1Gi"), 2, 64, UNKNOWN),
                claim("ns/c", worker("3", "1Gi"), 1, 64, UNKNOWN));
        Map<String, Integer> shares = WorkerSizer.share(claims, cluster);
        assertThat(shares.values()).allMatch(n -> n >= 1);
        // a scheduler that places them in any order, first fit by decreasing size, places them all
        Map<String, BigDecimal[]> free = new HashMap<>(Map.of("n1", amounts("6", "14Gi"), "n2", amounts("5", "16Gi"),
                "n3", amounts("3", "8Gi")));
        List<BigDecimal[]> pods = new ArrayList<>();
        for (var c : claims) {
            var r = WorkerSizer.effectiveRequests(c.pod());
            for (int i = 0; i < shares.get(c.key()); i++) pods.add(new BigDecimal[] {r.get("cpu"), r.get("memory")});
        }
        pods.sort((x, y) -> y[0].compareTo(x[0]));
        for (BigDecimal[] pod : pods) {
            String fit = free.entrySet().stream().sorted(Map.Entry.comparingByKey())
                    .filter(e -> e.getValue()[0].compareTo(pod[0]) >= 0 && e.getValue()[1].compareTo(pod[1]) >= 0)
                    .map(Map.Entry::getKey).findFirst().orElse(null);
            assertThat(fit).as("room for a pod of %s cores among %s", pod[0], shares).isNotNull();
            free.get(fit)[0] = free.get(fit)[0].subtract(pod[0]);
            free.get(fit)[1] = free.get(fit)[1].subtract(pod[1]);
        }
        // all 14 free cores in use (4 + 4 + 6), b with twice the weight has twice the workers of a
        assertThat(shares).isEqualTo(Map.of("ns/a", 2, "ns/b", 4, "ns/c", 2));
    }

    @Test
    void effectiveRequestsFollowInitContainersSidecarsAndOverhead() {
        PodSpec pod = new PodSpecBuilder()
                .withInitContainers(
                        container("1", "256Mi"),                                      // runs alone
                        new ContainerBuilder(container("500m", "128Mi")).withRestartPolicy("Always").build(), // sidecar
                        container("3", "64Mi"))                                       // runs beside the sidecar: 3.5
                .withContainers(container("1", "512Mi"), container("500m", "256Mi"))
                .addToOverhead("cpu", new Quantity("250m"))
                .build();
        var requests = WorkerSizer.effectiveRequests(pod);
        // cpu: max(1 + 0.5 + 0.5 = 2, max(1, 3 + 0.5)) + 0.25; memory: max(512 + 256 + 128 = 896, max(256, 64 + 128))
        assertThat(requests.get("cpu")).isEqualByComparingTo("3.75");
        assertThat(requests.get("memory")).isEqualByComparingTo(new Quantity("896Mi").getNumericalAmount());
        assertThat(requests.get("pods")).isEqualByComparingTo("1");
    }

    @Test
    void requiredNodeAffinityDecidesEligibility() {
        Node zoneA = new NodeBuilder(node("a", "4", "32Gi")).editMetadata().addToLabels("zone", "a").addToLabels("gpu", "yes")
                .endMetadata().build();
        Node zoneB = new NodeBuilder(node("b", "8", "32Gi")).editMetadata().addToLabels("zone", "b").endMetadata().build();
        Node noZone = node("c", "16", "32Gi");
        var cluster = new WorkerSizer.Cluster(List.of(zoneA, zoneB, noZone), List.of());
        assertThat(withAffinity(cluster, "zone", "In", "a", "b")).isEqualTo(12);
        assertThat(withAffinity(cluster, "zone", "NotIn", "a")).isEqualTo(24);
        assertThat(withAffinity(cluster, "zone", "Exists")).isEqualTo(12);
        assertThat(withAffinity(cluster, "gpu", "DoesNotExist")).isEqualTo(24);
        var decision = WorkerSizer.size(auto(), claim("ns/a", affinity("zone", "In", "z"), 1, 64, UNKNOWN), cluster, List.of());
        assertThat(decision.reason()).startsWith("auto: 0 of 3 nodes eligible (3 not matching the required node affinity)");
    }

    // --- fixtures

    private static int withAffinity(WorkerSizer.Cluster cluster, String key, String operator, String... values) {
        return WorkerSizer.size(auto(), claim("ns/a", affinity(key, operator, values), 1, 64, UNKNOWN), cluster, List.of()).replicas();
    }

    private static PodSpec affinity(String key, String operator, String... values) {
        return new PodSpecBuilder(worker("1", "512Mi")).withNewAffinity().withNewNodeAffinity()
                .withNewRequiredDuringSchedulingIgnoredDuringExecution().addNewNodeSelectorTerm()
                .withMatchExpressions(new NodeSelectorRequirementBuilder().withKey(key).withOperator(operator).withValues(values).build())
                .endNodeSelectorTerm().endRequiredDuringSchedulingIgnoredDuringExecution().endNodeAffinity().endAffinity().build();
    }

    private static BigDecimal[] amounts(String cpu, String memory) {
        return new BigDecimal[] {new Quantity(cpu).getNumericalAmount(), new Quantity(memory).getNumericalAmount()};
    }

    /**
     * The placement as the rule says it, one worker at a time, by a scan of every open claim (as the sizer did before it
     * kept them in a heap): the claim furthest below its weighted share (count/weight, ties by key) gets one more worker on
     * the first node by name that it fits on; a claim that fits nowhere, or has what it wants, leaves.
     */
    @Test
    void theSharesAreWhatPlacingOneWorkerAtATimeByTheRuleGives() {
        Random random = new Random(13);
        String[] cpus = {"250m", "500m", "1", "2"};
        String[] memories = {"256Mi", "512Mi", "1Gi"};
        for (int trial = 0; trial < 300; trial++) {
            List<Node> nodes = new ArrayList<>();
            for (int i = random.nextInt(5); i >= 0; i--) {
                nodes.add(node("n" + random.nextInt(100), String.valueOf(1 << random.nextInt(4)), (1 << random.nextInt(3)) + "Gi"));
            }
            List<WorkerSizer.Claim> claims = new ArrayList<>();
            for (int i = 1 + random.nextInt(12); i > 0; i--) {
                String key = "ns/c" + random.nextInt(1000);
                if (claims.stream().anyMatch(c -> c.key().equals(key))) continue;
                claims.add(claim(key, worker(cpus[random.nextInt(cpus.length)], memories[random.nextInt(memories.length)]),
                        1 + random.nextInt(4), 1 + random.nextInt(8), UNKNOWN));
            }
            var cluster = new WorkerSizer.Cluster(nodes.stream().collect(Collectors.toMap(
                    n -> n.getMetadata().getName(), n -> n, (a, b) -> a)).values(), List.of());
            assertThat(WorkerSizer.share(claims, cluster)).as("trial %d", trial).isEqualTo(byTheRule(claims, List.copyOf(cluster.nodes())));
        }
    }

    private static Map<String, Integer> byTheRule(List<WorkerSizer.Claim> claims, List<Node> nodes) {
        List<WorkerSizer.Claim> open = new ArrayList<>(claims);
        open.sort(Comparator.comparing(WorkerSizer.Claim::key));
        List<Node> byName = new ArrayList<>(nodes);
        byName.sort(Comparator.comparing(n -> n.getMetadata().getName()));
        Map<String, BigDecimal[]> free = new HashMap<>();
        for (Node n : byName) {
            free.put(n.getMetadata().getName(), new BigDecimal[] {n.getStatus().getAllocatable().get("cpu").getNumericalAmount(),
                    n.getStatus().getAllocatable().get("memory").getNumericalAmount()});
        }
        Map<String, Integer> counts = new TreeMap<>();
        open.forEach(c -> counts.put(c.key(), 0));
        open.removeIf(c -> c.maxReplicas() < 1);
        while (!open.isEmpty()) {
            WorkerSizer.Claim next = open.get(0);
            for (WorkerSizer.Claim c : open) {
                if ((long) counts.get(c.key()) * next.weight() < (long) counts.get(next.key()) * c.weight()) next = c;
            }
            Container c = next.pod().getContainers().get(0);
            BigDecimal[] request = amounts(c.getResources().getRequests().get("cpu").toString(),
                    c.getResources().getRequests().get("memory").toString());
            BigDecimal[] target = null;
            for (Node n : byName) {
                BigDecimal[] left = free.get(n.getMetadata().getName());
                if (left[0].compareTo(request[0]) >= 0 && left[1].compareTo(request[1]) >= 0) {
                    target = left;
                    break;
                }
            }
            if (target == null) {
                open.remove(next);
                continue;
            }
            target[0] = target[0].subtract(request[0]);
            target[1] = target[1].subtract(request[1]);
            if (counts.merge(next.key(), 1, Integer::sum) >= next.maxReplicas()) open.remove(next);
        }
        counts.replaceAll((k, n) -> Math.max(1, n));
        return counts;
    }

    private static WorkersSpec auto() {
        return new WorkersSpec();
    }

    private static WorkerSizer.Claim claim(String key, PodSpec pod, int weight, int maxReplicas, OptionalLong tasksLeft) {
        return new WorkerSizer.Claim(key, pod, weight, maxReplicas, tasksLeft, 1);
    }

    private static PodSpec worker(String cpu, String memory) {
        return new PodSpecBuilder().withContainers(container(cpu, memory)).build();
    }

    private static Container container(String cpu, String memory) {
        return new ContainerBuilder().withName("c").withNewResources().addToRequests("cpu", new Quantity(cpu))
                .addToRequests("memory", new Quantity(memory)).endResources().build();
    }

    private static Node node(String name, String cpu, String memory) {
        return new NodeBuilder().withNewMetadata().withName(name).endMetadata().withNewSpec().endSpec().withNewStatus()
                .addToAllocatable("cpu", new Quantity(cpu)).addToAllocatable("memory", new Quantity(memory))
                .addNewCondition().withType("Ready").withStatus("True").endCondition().endStatus().build();
    }

    private static Map<String, String> workerLabels(String batch) {
        return Map.of(BatchLabels.MANAGED_BY, BatchLabels.OPERATOR, BatchLabels.COMPONENT, BatchLabels.WORKER, BatchLabels.BATCH, batch);
    }

    private static Pod pod(String name, String nodeName, String phase, Map<String, String> labels, Container... containers) {
        return new PodBuilder().withNewMetadata().withName(name).withNamespace("ns").withLabels(labels).endMetadata()
                .withNewSpec().withNodeName(nodeName).withContainers(containers).endSpec()
                .withNewStatus().withPhase(phase).endStatus().build();
    }
}
