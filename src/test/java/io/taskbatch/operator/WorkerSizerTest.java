package io.taskbatch.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.TaintBuilder;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.TolerationBuilder;
import io.taskbatch.api.WorkersSpec;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class WorkerSizerTest {

    private static final OptionalLong UNKNOWN = OptionalLong.empty();
    private static final AtomicInteger SEQ = new AtomicInteger();

    static Stream<Arguments> table() {
        Consumer<WorkersSpec> defaults = w -> {};
        Consumer<WorkersSpec> gpuPool = w -> w.setNodeSelector(Map.of("pool", "batch"));
        return Stream.of(
                row("mixed allocatable incl. millicores", defaults, List.of(ready("4"), ready("2"), ready("1500m")), 7),
                row("fractional cores do not add up: a pod does not span nodes", defaults, List.of(ready("0.5"), ready("500m"), ready("1")), 1),
                row("worker cpu 500m", cpu("500m"), List.of(ready("4"), ready("1500m")), 11),
                row("worker cpu 2 floors", cpu("2"), List.of(ready("4"), ready("2"), ready("1500m")), 3),
                row("NotReady node excluded", defaults, List.of(ready("4"), notReady("8")), 4),
                row("cordoned node excluded", defaults, List.of(ready("4"), cordoned("8")), 4),
                row("node without Ready condition excluded", defaults, List.of(ready("4"), noReadyCondition("8")), 4),
                row("nodeSelector match and mismatch", gpuPool,
                        List.of(labeled("4", "pool", "batch"), labeled("8", "pool", "web"), ready("2")), 4),
                row("NoSchedule taint not tolerated", defaults, List.of(ready("4"), tainted("8", "dedicated", "gpu", "NoSchedule")), 4),
                row("tolerated by Equal", tolerating(toleration("dedicated", "Equal", "gpu", "NoSchedule")),
                        List.of(ready("4"), tainted("8", "dedicated", "gpu", "NoSchedule")), 12),
                row("operator defaults to Equal", tolerating(toleration("dedicated", null, "gpu", null)),
                        List.of(ready("4"), tainted("8", "dedicated", "gpu", "NoSchedule")), 12),
                row("Equal with another value does not tolerate", tolerating(toleration("dedicated", "Equal", "cpu", "NoSchedule")),
                        List.of(ready("4"), tainted("8", "dedicated", "gpu", "NoSchedule")), 4),
                row("tolerated by Exists", tolerating(toleration("dedicated", "Exists", null, null)),
                        List.of(ready("4"), tainted("8", "dedicated", "gpu", "NoSchedule")), 12),
                row("wildcard toleration tolerates every taint", tolerating(toleration(null, "Exists", null, null)),
                        List.of(ready("4"), tainted("8", "dedicated", "gpu", "NoSchedule"), tainted("2", "maintenance", "", "NoExecute")), 14),
                row("NoExecute taint not tolerated by a NoSchedule toleration",
                        tolerating(toleration("maintenance", "Exists", null, "NoSchedule")),
                        List.of(ready("4"), tainted("8", "maintenance", "", "NoExecute")), 4),
                row("PreferNoSchedule ignored", defaults, List.of(ready("4"), tainted("8", "spot", "true", "PreferNoSchedule")), 12),
                row("capped by maxReplicas", max(8), List.of(ready("16"), ready("16")), 8),
                row("work left with a remainder", defaults, List.of(ready("16")), OptionalLong.of(5), 2, 3),
                row("work left 0 keeps one worker until the batch is over", defaults, List.of(ready("16")), OptionalLong.of(0), 4, 1),
                row("work left above capacity", defaults, List.of(ready("4")), OptionalLong.of(100), 1, 4),
                row("fixed number ignores nodes and maxReplicas", fixed(4).andThen(max(2)), List.of(), 4),
                row("fixed number as string, capped by work left", w -> w.setReplicas(new IntOrString("6")),
                        List.of(ready("64")), OptionalLong.of(3), 1, 3),
                row("no eligible node gives 1", defaults, List.of(notReady("4"), cordoned("4")), 1),
                row("no node at all gives 1", defaults, List.of(), 1),
                row("no eligible node and no work left still gives 1", defaults, List.of(notReady("4")), OptionalLong.of(0), 1, 1),
                row("eligible cores below one worker give 1", cpu("2"), List.of(ready("500m")), 1));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void sizes(String name, Consumer<WorkersSpec> spec, List<Node> nodes, OptionalLong tasksLeft, int slots, int expected) {
        assertThat(size(workers(spec), nodes, tasksLeft, slots).replicas()).isEqualTo(expected);
    }

    @Test
    void reasonExplainsExclusionsAndCaps() {
        var nodes = List.of(ready("4"), ready("4"), ready("4"), notReady("4"), tainted("4", "dedicated", "gpu", "NoSchedule"));
        var decision = size(workers(max(8)), nodes, UNKNOWN, 1);
        assertThat(decision).isEqualTo(new WorkerSizer.Decision(8,
                "auto: 3 of 5 nodes eligible (1 not ready, 1 with untolerated taint dedicated=gpu:NoSchedule); "
                        + "12 cores free, a worker requests cpu 1, memory 512Mi: 12 fit; capped by maxReplicas 8"));
    }

    @Test
    void reasonOfFixedAndWorkLeft() {
        assertThat(size(workers(fixed(4)), List.of(), UNKNOWN, 2).reason()).isEqualTo("fixed: 4");
        assertThat(size(workers(fixed(4)), List.of(), OptionalLong.of(3), 2).reason())
                .isEqualTo("fixed: 4; capped by work left (3 tasks, 2 slots each) = 2");
    }

    @Test
    void reasonNamesWhyNoNodeIsEligible() {
        var nodes = List.of(notReady("4"), cordoned("4"), labeled("4", "pool", "web"));
        var decision = size(workers(w -> w.setNodeSelector(Map.of("pool", "batch"))), nodes, UNKNOWN, 1);
        assertThat(decision.replicas()).isEqualTo(1);
        assertThat(decision.reason()).startsWith(
                "auto: 0 of 3 nodes eligible (1 not ready, 1 unschedulable, 1 not matching nodeSelector {pool=batch})");
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "0m", "-1", "abc", ""})
    void rejectsWorkerCpuThatIsZeroOrUnparsable(String cpu) {
        assertThatThrownBy(() -> size(workers(cpu(cpu)), List.of(ready("4")), UNKNOWN, 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("spec.workers.cpu");
    }

    // --- fixtures

    /** The batch alone on the cluster, its worker pod requesting its cpu and memory, scheduled by nodeSelector and tolerations. */
    private static WorkerSizer.Decision size(WorkersSpec workers, List<Node> nodes, OptionalLong tasksLeft, int slots) {
        var container = new ContainerBuilder().withName("worker").withNewResources().addToRequests("cpu", quantity(workers.getCpu()))
                .addToRequests("memory", new Quantity(workers.getMemory())).endResources().build();
        var pod = new PodSpecBuilder().withContainers(container).withNodeSelector(workers.getNodeSelector())
                .withTolerations(workers.getTolerations()).build();
        return WorkerSizer.size(workers, WorkerSizer.claim("ns/self", workers, pod, tasksLeft, slots), WorkerSizer.Cluster.of(nodes),
                List.of());
    }

    /** A quantity the sizer is to reject by its field's name, kept as given. */
    private static Quantity quantity(String s) {
        try {
            return new Quantity(s);
        } catch (RuntimeException e) {
            return new Quantity("1");
        }
    }

    private static Arguments row(String name, Consumer<WorkersSpec> spec, List<Node> nodes, int expected) {
        return row(name, spec, nodes, UNKNOWN, 1, expected);
    }

    private static Arguments row(String name, Consumer<WorkersSpec> spec, List<Node> nodes, OptionalLong left, int slots, int expected) {
        return Arguments.of(name, spec, nodes, left, slots, expected);
    }

    private static WorkersSpec workers(Consumer<WorkersSpec> spec) {
        WorkersSpec workers = new WorkersSpec();
        spec.accept(workers);
        return workers;
    }

    private static Consumer<WorkersSpec> cpu(String cpu) { return w -> w.setCpu(cpu); }
    private static Consumer<WorkersSpec> max(int max) { return w -> w.setMaxReplicas(max); }
    private static Consumer<WorkersSpec> fixed(int n) { return w -> w.setReplicas(new IntOrString(n)); }
    @Test
    void onlyWhatSizingReadsCountsAsACapacityChange() {
        Node before = ready("4");
        // a heartbeat: the Ready condition's timestamps and an image list move, nothing sizing reads does
        Node heartbeat = new NodeBuilder(before).editStatus().editFirstCondition().withLastHeartbeatTime("2026-11-22T20:00:00Z")
                .endCondition().addNewImage().withNames("busybox").endImage().endStatus().build();
        assertThat(WorkerSizer.sameCapacity(heartbeat, before)).isTrue();
        assertThat(WorkerSizer.sameCapacity(node("8", "True").withMetadata(before.getMetadata()).build(), before)).as("allocatable").isFalse();
        assertThat(WorkerSizer.sameCapacity(notReady("4"), before)).as("readiness").isFalse();
        assertThat(WorkerSizer.sameCapacity(new NodeBuilder(before).editSpec().withUnschedulable(true).endSpec().build(), before))
                .as("cordoned").isFalse();
        assertThat(WorkerSizer.sameCapacity(new NodeBuilder(before).editSpec().addToTaints(new TaintBuilder().withKey("k")
                .withEffect("NoSchedule").build()).endSpec().build(), before)).as("tainted").isFalse();
        assertThat(WorkerSizer.sameCapacity(new NodeBuilder(before).editMetadata().addToLabels("pool", "x").endMetadata().build(), before))
                .as("labels").isFalse();
    }

    private static Consumer<WorkersSpec> tolerating(Toleration... t) { return w -> w.setTolerations(List.of(t)); }

    private static Toleration toleration(String key, String operator, String value, String effect) {
        return new TolerationBuilder().withKey(key).withOperator(operator).withValue(value).withEffect(effect).build();
    }

    private static NodeBuilder node(String cpu, String readyStatus) {
        return new NodeBuilder()
                .withNewMetadata().withName("node-" + SEQ.incrementAndGet()).endMetadata()
                .withNewSpec().endSpec()
                .withNewStatus()
                .addToAllocatable("cpu", new Quantity(cpu))
                .addToAllocatable("memory", new Quantity("1000Gi"))
                .addNewCondition().withType(readyStatus == null ? "MemoryPressure" : "Ready")
                .withStatus(readyStatus == null ? "False" : readyStatus).endCondition()
                .endStatus();
    }

    private static Node ready(String cpu) { return node(cpu, "True").build(); }
    private static Node notReady(String cpu) { return node(cpu, "False").build(); }
    private static Node noReadyCondition(String cpu) { return node(cpu, null).build(); }
    private static Node cordoned(String cpu) { return node(cpu, "True").editSpec().withUnschedulable(true).endSpec().build(); }

    private static Node labeled(String cpu, String key, String value) {
        return node(cpu, "True").editMetadata().addToLabels(key, value).endMetadata().build();
    }

    private static Node tainted(String cpu, String key, String value, String effect) {
        return node(cpu, "True").editSpec().addToTaints(new TaintBuilder().withKey(key).withValue(value).withEffect(effect).build()).endSpec().build();
    }
}
