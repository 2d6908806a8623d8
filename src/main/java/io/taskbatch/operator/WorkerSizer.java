package io.taskbatch.operator;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeCondition;
import io.fabric8.kubernetes.api.model.NodeSelectorRequirement;
import io.fabric8.kubernetes.api.model.NodeSelectorTerm;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.Taint;
import io.fabric8.kubernetes.api.model.Toleration;
import io.taskbatch.api.WorkersSpec;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Decides how many worker pods a batch runs: a fixed number, or "auto": what fits, the way the scheduler counts, in
 * what other pods leave free on the eligible nodes, shared with the other running auto-sized batches.
 *
 * <p>Auto sizing places every competing batch's workers one at a time on a copy of the nodes' free resources, always
 * for the batch with the fewest workers per unit of weight (water-filling): a batch that wants fewer (maxReplicas, work
 * left) leaves the rest to the others, every placement fits on one node by every resource the pod requests, so the
 * shares never add up to more than fits. Every batch's reconciliation computes the same placement from the same
 * caches, so they agree on each other's share.
 */
public final class WorkerSizer {
    /** What a pod takes of a node's allocatable {@code pods}, as the scheduler counts it. */
    static final String PODS = "pods";

    /** The number of worker pods and one human line explaining it, fit for an event. */
    public record Decision(int replicas, String reason) {}

    /**
     * A running auto-sized batch asking for workers.
     *
     * @param key {@code namespace/name}: identifies its worker pods and breaks ties
     * @param pod the worker pod spec: requests, nodeSelector, tolerations, required node affinity
     * @param weight its share relative to the others, at least 1
     * @param tasksLeft tasks not yet decided (total - succeeded - failed), empty when the total is not known yet
     * @param slots task slots of one worker, at least 1
     */
    public record Claim(String key, PodSpec pod, int weight, int maxReplicas, OptionalLong tasksLeft, int slots) {
        public Claim {
            if (slots < 1) throw new IllegalArgumentException("slotsPerWorker must be at least 1, was " + slots);
            if (weight < 1) throw new IllegalArgumentException("spec.workers.weight must be at least 1, was " + weight);
        }

        /** Workers the work left can keep busy, at least 1 while the batch runs; empty when unknown. */
        OptionalLong needed() {
            if (tasksLeft.isEmpty()) return OptionalLong.empty();
            long left = Math.max(0, tasksLeft.getAsLong());
            // never 0 while the batch runs: a work-queue Job completes when a worker exits 0 on the batch's end,
            // and tasks still decided late (a retry, a dead worker's redelivery) need somebody to run them
            return OptionalLong.of(Math.max(1, (left + slots - 1) / slots));
        }

        int wanted() {
            long cap = maxReplicas >= 1 ? maxReplicas : Integer.MAX_VALUE;
            return (int) Math.min(cap, needed().orElse(Long.MAX_VALUE));
        }
    }

    /** The nodes and the (not finished) pods of the cluster, as the informers see them. */
    public record Cluster(Collection<Node> nodes, Collection<Pod> pods) {
        public static Cluster of(Collection<Node> nodes) {
            return new Cluster(nodes, List.of());
        }
    }

    private WorkerSizer() {}

    /**
     * @param workers the batch's spec (replicas, maxReplicas)
     * @param self the batch as a claim; for auto it takes part in the sharing with {@code others}
     * @param others the other running auto-sized batches (self is skipped if listed)
     */
    public static Decision size(WorkersSpec workers, Claim self, Cluster cluster, Collection<Claim> others) {
        Integer fixed = fixedReplicas(workers.getReplicas());
        if (fixed == null) return auto(self, cluster, others);
        int replicas = Math.max(0, fixed);
        StringBuilder reason = new StringBuilder("fixed: ").append(replicas);
        OptionalLong needed = self.needed();
        if (needed.isPresent() && needed.getAsLong() < replicas) {
            replicas = (int) needed.getAsLong();
            workLeft(reason, self, replicas);
        }
        return new Decision(replicas, reason.toString());
    }

    /** The claim of a batch's spec, with the worker pod spec its Job runs (or would be created with). */
    public static Claim claim(String key, WorkersSpec workers, PodSpec pod, OptionalLong tasksLeft, int slots) {
        workerCpu(workers.getCpu()); // a clear error for the field, before anything is placed
        return new Claim(key, pod, workers.getWeight(), workers.getMaxReplicas(), tasksLeft, slots);
    }

    /** True when a batch's replicas say "auto" (or nothing). */
    public static boolean isAuto(WorkersSpec workers) {
        return workers != null && fixedReplicas(workers.getReplicas()) == null;
    }

    // --- sharing

    /** Each claim's number of workers: the water-filling placement described on the class. Every claim gets at least 1. */
    public static Map<String, Integer> share(Collection<Claim> claims, Cluster cluster) {
        Map<String, Integer> shares = new LinkedHashMap<>();
        place(claims, cluster).counts.forEach((key, n) -> shares.put(key, Math.max(1, n)));
        return shares;
    }

    private static final class Placement {
        final Map<String, Integer> counts = new LinkedHashMap<>();
        /** Per claim, the nodes its workers were placed on. */
        final Map<String, Set<String>> nodesOf = new HashMap<>();
    }

    private static Placement place(Collection<Claim> claims, Cluster cluster) {
        List<Claim> sorted = claims.stream().sorted(Comparator.comparing(Claim::key)).toList();
        Map<String, Map<String, BigDecimal>> free = free(cluster, sorted.stream().map(Claim::key).collect(Collectors.toSet()));
        List<Node> schedulable = cluster.nodes().stream().filter(WorkerSizer::schedulable)
                .sorted(Comparator.comparing(n -> n.getMetadata().getName())).toList();
        Map<String, List<Node>> eligible = new HashMap<>();
        Map<String, Map<String, BigDecimal>> requests = new HashMap<>();
        Placement placement = new Placement();
        Map<String, Integer> counts = placement.counts;
        // next, the claim furthest below its weighted share: count/weight smallest (cross-multiplied), ties by key; a
        // heap, as only the claim just placed changes its count (a scan of them all per worker placed made a
        // reconciliation of one of 1,000 auto batches quadratic)
        PriorityQueue<Claim> open = new PriorityQueue<>((a, b) -> {
            int below = Long.compare((long) counts.get(a.key()) * b.weight(), (long) counts.get(b.key()) * a.weight());
            return below != 0 ? below : a.key().compareTo(b.key());
        });
        for (Claim c : sorted) {
            eligible.put(c.key(), schedulable.stream().filter(n -> whyExcluded(n, c.pod()) == null).toList());
            requests.put(c.key(), effectiveRequests(c.pod()));
            counts.put(c.key(), 0);
            placement.nodesOf.put(c.key(), new LinkedHashSet<>());
            if (c.wanted() > 0) open.add(c);
        }
        while (!open.isEmpty()) {
            Claim next = open.poll();
            Map<String, BigDecimal> request = requests.get(next.key());
            Node target = null;
            for (Node node : eligible.get(next.key())) {
                if (fits(free.get(node.getMetadata().getName()), request)) {
                    target = node;
                    break;
                }
            }
            if (target == null) continue; // fits nowhere any more: placed as far as it goes
            take(free.get(target.getMetadata().getName()), request);
            placement.nodesOf.get(next.key()).add(target.getMetadata().getName());
            if (counts.merge(next.key(), 1, Integer::sum) < next.wanted()) open.add(next);
        }
        return placement;
    }

    /** Per schedulable node, allocatable minus what bound pods of no claim request. */
    private static Map<String, Map<String, BigDecimal>> free(Cluster cluster, Set<String> claimKeys) {
        Map<String, Map<String, BigDecimal>> free = new HashMap<>();
        for (Node node : cluster.nodes()) free.put(node.getMetadata().getName(), allocatable(node));
        for (Pod pod : cluster.pods()) {
            String nodeName = pod.getSpec() == null ? null : pod.getSpec().getNodeName();
            if (nodeName == null || !free.containsKey(nodeName) || finished(pod) || claimKeys.contains(workerOf(pod))) continue;
            take(free.get(nodeName), effectiveRequests(pod.getSpec()));
        }
        return free;
    }

    /** {@code namespace/batch} of a batch's worker pod, else null. */
    static String workerOf(Pod pod) {
        Map<String, String> labels = pod.getMetadata() == null ? null : pod.getMetadata().getLabels();
        if (labels == null || !BatchLabels.OPERATOR.equals(labels.get(BatchLabels.MANAGED_BY))
                || !BatchLabels.WORKER.equals(labels.get(BatchLabels.COMPONENT)) || labels.get(BatchLabels.BATCH) == null) {
            return null;
        }
        return pod.getMetadata().getNamespace() + "/" + labels.get(BatchLabels.BATCH);
    }

    private static boolean finished(Pod pod) {
        String phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
        return "Succeeded".equals(phase) || "Failed".equals(phase);
    }

    private static boolean fits(Map<String, BigDecimal> free, Map<String, BigDecimal> request) {
        for (var r : request.entrySet()) {
            BigDecimal left = free.get(r.getKey());
            if (left == null) {
                if (PODS.equals(r.getKey())) continue; // a node that does not say how many pods it takes is not limited by it
                return false; // a resource the node does not have at all (a GPU on a CPU node)
            }
            if (left.compareTo(r.getValue()) < 0) return false;
        }
        return true;
    }

    private static void take(Map<String, BigDecimal> free, Map<String, BigDecimal> request) {
        request.forEach((r, amount) -> free.computeIfPresent(r, (k, left) -> left.subtract(amount)));
    }

    /**
     * What the scheduler reserves for a pod: the larger of its containers' requests (restartable init containers,
     * sidecars, included) and the largest init container's (plus the sidecars started before it), plus the pod
     * overhead, and one of the node's {@code pods}. A container without a request for a resource it limits requests
     * its limit, as the API server defaults it.
     */
    static Map<String, BigDecimal> effectiveRequests(PodSpec pod) {
        Map<String, BigDecimal> sum = new TreeMap<>();
        Map<String, BigDecimal> sidecars = new TreeMap<>();
        Map<String, BigDecimal> initMax = new TreeMap<>();
        for (Container c : nz(pod.getInitContainers())) {
            Map<String, BigDecimal> own = requests(c);
            if ("Always".equals(c.getRestartPolicy())) {
                own.forEach((r, q) -> sidecars.merge(r, q, BigDecimal::add));
            } else {
                Map<String, BigDecimal> during = new TreeMap<>(sidecars);
                own.forEach((r, q) -> during.merge(r, q, BigDecimal::add));
                during.forEach((r, q) -> initMax.merge(r, q, BigDecimal::max));
            }
        }
        for (Container c : nz(pod.getContainers())) requests(c).forEach((r, q) -> sum.merge(r, q, BigDecimal::add));
        sidecars.forEach((r, q) -> sum.merge(r, q, BigDecimal::add));
        initMax.forEach((r, q) -> sum.merge(r, q, BigDecimal::max));
        if (pod.getOverhead() != null) pod.getOverhead().forEach((r, q) -> sum.merge(r, q.getNumericalAmount(), BigDecimal::add));
        sum.values().removeIf(q -> q.signum() <= 0);
        sum.put(PODS, BigDecimal.ONE);
        return sum;
    }

    private static Map<String, BigDecimal> requests(Container c) {
        Map<String, BigDecimal> out = new TreeMap<>();
        ResourceRequirements res = c.getResources();
        if (res == null) return out;
        if (res.getLimits() != null) res.getLimits().forEach((r, q) -> out.put(r, q.getNumericalAmount()));
        if (res.getRequests() != null) res.getRequests().forEach((r, q) -> out.put(r, q.getNumericalAmount()));
        return out;
    }

    // --- one batch's decision

    private static Decision auto(Claim self, Cluster cluster, Collection<Claim> others) {
        Collection<Node> nodes = cluster.nodes();
        StringBuilder reason = new StringBuilder();
        int eligible = 0, notReady = 0, cordoned = 0;
        Map<String, Integer> excluded = new LinkedHashMap<>();
        List<Node> eligibleNodes = new ArrayList<>();
        for (Node node : nodes) {
            // each excluded node is counted under its first failing check only, so the counts add up
            if (!isReady(node)) {
                notReady++;
            } else if (node.getSpec() != null && Boolean.TRUE.equals(node.getSpec().getUnschedulable())) {
                cordoned++;
            } else {
                String why = whyExcluded(node, self.pod());
                if (why != null) {
                    excluded.merge(why, 1, Integer::sum);
                } else {
                    eligible++;
                    eligibleNodes.add(node);
                }
            }
        }
        reason.append("auto: ").append(eligible).append(" of ").append(nodes.size())
                .append(nodes.size() == 1 ? " node eligible" : " nodes eligible");
        List<String> why = new ArrayList<>();
        if (notReady > 0) why.add(notReady + " not ready");
        if (cordoned > 0) why.add(cordoned + " unschedulable");
        excluded.forEach((what, n) -> why.add(n + " " + what));
        if (!why.isEmpty()) reason.append(" (").append(String.join(", ", why)).append(')');
        if (eligible == 0) {
            // a pending pod with its scheduling reason tells the user more than no pod at all
            reason.append("; 1 worker so its pending pod shows why");
            return new Decision(1, reason.toString());
        }

        List<Claim> all = new ArrayList<>();
        all.add(self);
        others.stream().filter(c -> !c.key().equals(self.key())).forEach(all::add);
        Set<String> claimKeys = all.stream().map(Claim::key).collect(Collectors.toSet());
        Map<String, Map<String, BigDecimal>> free = free(cluster, claimKeys);
        Map<String, BigDecimal> request = effectiveRequests(self.pod());
        BigDecimal allocatableCpu = BigDecimal.ZERO, freeCpu = BigDecimal.ZERO;
        long alone = 0;
        for (Node node : eligibleNodes) {
            allocatableCpu = allocatableCpu.add(allocatable(node).getOrDefault("cpu", BigDecimal.ZERO));
            Map<String, BigDecimal> left = free.get(node.getMetadata().getName());
            freeCpu = freeCpu.add(left.getOrDefault("cpu", BigDecimal.ZERO).max(BigDecimal.ZERO));
            alone += fitOn(left, request); // a pod does not span nodes: floor per node, then sum
        }
        reason.append("; ").append(plain(freeCpu));
        if (freeCpu.compareTo(allocatableCpu) != 0) reason.append(" of ").append(plain(allocatableCpu));
        reason.append(" cores free, a worker requests ").append(describe(request)).append(": ").append(alone).append(" fit");

        Placement placement = place(all, cluster);
        int replicas = placement.counts.get(self.key());
        Set<String> mine = eligibleNodes.stream().map(n -> n.getMetadata().getName()).collect(Collectors.toSet());
        List<Claim> sharing = all.stream().filter(c -> c != self && placement.counts.get(c.key()) > 0
                && placement.nodesOf.get(c.key()).stream().anyMatch(mine::contains)).toList();
        int wanted = self.wanted();
        if (replicas == 0) {
            reason.append(sharing.isEmpty() ? "" : "; taken by " + sharing.size() + " other auto "
                    + (sharing.size() == 1 ? "batch" : "batches")).append("; 1 worker so its pending pod shows why");
            return new Decision(1, reason.toString());
        }
        if (replicas < wanted) {
            if (!sharing.isEmpty()) {
                reason.append("; shared by ").append(sharing.size() + 1).append(" auto batches (");
                if (sharing.stream().allMatch(c -> c.weight() == self.weight())) {
                    reason.append("weight ").append(self.weight()).append(" each");
                } else {
                    reason.append("weights: this one ").append(self.weight());
                    sharing.stream().limit(4).forEach(c -> reason.append(", ").append(c.key()).append(' ').append(c.weight()));
                    if (sharing.size() > 4) reason.append(", ...");
                }
                reason.append(") = ").append(replicas);
            }
        } else if (wanted < alone) {
            reason.append(capReason(self, replicas));
        }
        return new Decision(replicas, reason.toString());
    }

    private static String capReason(Claim self, int replicas) {
        StringBuilder s = new StringBuilder();
        OptionalLong needed = self.needed();
        if (needed.isPresent() && needed.getAsLong() == replicas && (self.maxReplicas() < 1 || needed.getAsLong() <= self.maxReplicas())) {
            workLeft(s, self, replicas);
        } else {
            s.append("; capped by maxReplicas ").append(replicas);
        }
        return s.toString();
    }

    private static void workLeft(StringBuilder reason, Claim self, int replicas) {
        long left = Math.max(0, self.tasksLeft().getAsLong());
        reason.append("; capped by work left (").append(left).append(left == 1 ? " task, " : " tasks, ")
                .append(self.slots()).append(self.slots() == 1 ? " slot each) = " : " slots each) = ").append(replicas);
    }

    /** How many pods of {@code request} fit in {@code free}: the tightest resource decides. */
    private static long fitOn(Map<String, BigDecimal> free, Map<String, BigDecimal> request) {
        long fit = Long.MAX_VALUE;
        for (var r : request.entrySet()) {
            BigDecimal left = free.get(r.getKey());
            if (left == null) {
                if (PODS.equals(r.getKey())) continue;
                return 0;
            }
            if (left.signum() <= 0) return 0;
            fit = Math.min(fit, left.divide(r.getValue(), 0, RoundingMode.FLOOR).longValue());
        }
        return fit == Long.MAX_VALUE ? 0 : fit;
    }

    /** {@code cpu 1, memory 512Mi, nvidia.com/gpu 1}: the requests, without the pod slot. */
    private static String describe(Map<String, BigDecimal> request) {
        return request.entrySet().stream().filter(e -> !PODS.equals(e.getKey()))
                .sorted(Comparator.comparing((Map.Entry<String, BigDecimal> e) -> order(e.getKey())).thenComparing(Map.Entry::getKey))
                .map(e -> e.getKey() + " " + ("memory".equals(e.getKey()) || "ephemeral-storage".equals(e.getKey())
                        ? bytes(e.getValue()) : plain(e.getValue())))
                .collect(Collectors.joining(", "));
    }

    private static int order(String resource) {
        return switch (resource) {
            case "cpu" -> 0;
            case "memory" -> 1;
            default -> 2;
        };
    }

    private static String bytes(BigDecimal amount) {
        String[] units = {"Ki", "Mi", "Gi", "Ti"};
        BigDecimal k = BigDecimal.valueOf(1024);
        String best = plain(amount);
        BigDecimal v = amount;
        for (String unit : units) {
            BigDecimal[] qr = v.divideAndRemainder(k);
            if (qr[1].signum() != 0) break;
            v = qr[0];
            best = plain(v) + unit;
        }
        return best;
    }

    // --- eligibility

    private static boolean schedulable(Node node) {
        return isReady(node) && !(node.getSpec() != null && Boolean.TRUE.equals(node.getSpec().getUnschedulable()));
    }

    /** Why a ready, schedulable node cannot take the pod (nodeSelector, required node affinity, taints), or null. */
    private static String whyExcluded(Node node, PodSpec pod) {
        Map<String, String> selector = pod.getNodeSelector() == null ? Map.of() : pod.getNodeSelector();
        if (!labels(node).entrySet().containsAll(selector.entrySet())) return "not matching nodeSelector " + new TreeMap<>(selector);
        List<NodeSelectorTerm> terms = pod.getAffinity() == null || pod.getAffinity().getNodeAffinity() == null
                || pod.getAffinity().getNodeAffinity().getRequiredDuringSchedulingIgnoredDuringExecution() == null ? null
                : pod.getAffinity().getNodeAffinity().getRequiredDuringSchedulingIgnoredDuringExecution().getNodeSelectorTerms();
        // the terms are ORed, a term's requirements ANDed; no term (or only empty ones) matches no node
        if (terms != null && terms.stream().noneMatch(t -> matches(t, node))) return "not matching the required node affinity";
        List<String> untolerated = untoleratedTaints(node, nz(pod.getTolerations()));
        if (!untolerated.isEmpty()) {
            return "with untolerated taint" + (untolerated.size() == 1 ? " " : "s ") + String.join(", ", untolerated);
        }
        return null;
    }

    private static boolean matches(NodeSelectorTerm term, Node node) {
        List<NodeSelectorRequirement> expressions = nz(term.getMatchExpressions());
        List<NodeSelectorRequirement> fields = nz(term.getMatchFields());
        if (expressions.isEmpty() && fields.isEmpty()) return false;
        Map<String, String> labels = labels(node);
        for (NodeSelectorRequirement r : expressions) {
            if (!matches(r, labels.get(r.getKey()))) return false;
        }
        for (NodeSelectorRequirement r : fields) {
            // metadata.name is the only field Kubernetes supports here
            if (!"metadata.name".equals(r.getKey()) || !matches(r, node.getMetadata().getName())) return false;
        }
        return true;
    }

    /** One requirement against a label's value (null: the node has no such label), as the scheduler reads it. */
    private static boolean matches(NodeSelectorRequirement r, String value) {
        List<String> values = nz(r.getValues());
        return switch (nz(r.getOperator())) {
            case "In" -> value != null && values.contains(value);
            case "NotIn" -> value == null || !values.contains(value);
            case "Exists" -> value != null;
            case "DoesNotExist" -> value == null;
            case "Gt", "Lt" -> {
                if (value == null || values.size() != 1) yield false;
                try {
                    long have = Long.parseLong(value), bound = Long.parseLong(values.get(0));
                    yield "Gt".equals(r.getOperator()) ? have > bound : have < bound;
                } catch (NumberFormatException e) {
                    yield false;
                }
            }
            default -> false;
        };
    }

    /** The fixed replica count, or null for auto (also when unset). */
    private static Integer fixedReplicas(IntOrString replicas) {
        if (replicas == null || (replicas.getIntVal() == null && replicas.getStrVal() == null)) return null;
        if (replicas.getIntVal() != null) return replicas.getIntVal();
        String s = replicas.getStrVal().trim();
        if (s.equalsIgnoreCase("auto")) return null;
        try {
            return Integer.valueOf(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("spec.workers.replicas must be \"auto\" or a number, was \"" + s + "\"");
        }
    }

    private static BigDecimal workerCpu(String cpu) {
        BigDecimal amount;
        try {
            amount = new Quantity(cpu).getNumericalAmount();
        } catch (RuntimeException e) { // NumberFormatException, IllegalArgumentException, NullPointerException
            throw new IllegalArgumentException("spec.workers.cpu is not a valid quantity: \"" + cpu + "\"", e);
        }
        if (amount.signum() <= 0) {
            throw new IllegalArgumentException("spec.workers.cpu must be greater than 0, was \"" + cpu + "\"");
        }
        return amount;
    }

    /** True when nothing sizing looks at differs: a node's heartbeat then needs no re-sizing. */
    public static boolean sameCapacity(Node a, Node b) {
        return isReady(a) == isReady(b)
                && Objects.equals(a.getSpec() == null ? null : a.getSpec().getUnschedulable(), b.getSpec() == null ? null : b.getSpec().getUnschedulable())
                && Objects.equals(a.getSpec() == null ? null : a.getSpec().getTaints(), b.getSpec() == null ? null : b.getSpec().getTaints())
                && labels(a).equals(labels(b))
                && sameAmounts(allocatable(a), allocatable(b));
    }

    private static boolean sameAmounts(Map<String, BigDecimal> a, Map<String, BigDecimal> b) {
        return a.keySet().equals(b.keySet()) && a.entrySet().stream().allMatch(e -> e.getValue().compareTo(b.get(e.getKey())) == 0);
    }

    private static boolean isReady(Node node) {
        List<NodeCondition> conditions = node.getStatus() == null ? null : node.getStatus().getConditions();
        return conditions != null && conditions.stream()
                .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
    }

    private static Map<String, String> labels(Node node) {
        Map<String, String> labels = node.getMetadata() == null ? null : node.getMetadata().getLabels();
        return labels == null ? Map.of() : labels;
    }

    /** The node's NoSchedule/NoExecute taints that no toleration tolerates, as key=value:Effect. */
    private static List<String> untoleratedTaints(Node node, List<Toleration> tolerations) {
        List<Taint> taints = node.getSpec() == null || node.getSpec().getTaints() == null ? List.of() : node.getSpec().getTaints();
        List<String> untolerated = new ArrayList<>();
        for (Taint taint : taints) {
            // PreferNoSchedule only steers the scheduler; it never keeps a pod off the node
            boolean blocking = "NoSchedule".equals(taint.getEffect()) || "NoExecute".equals(taint.getEffect());
            if (blocking && tolerations.stream().noneMatch(t -> tolerates(t, taint))) {
                String value = nz(taint.getValue());
                untolerated.add(nz(taint.getKey()) + (value.isEmpty() ? "" : "=" + value) + ":" + taint.getEffect());
            }
        }
        return untolerated;
    }

    /** Kubernetes' Toleration.ToleratesTaint: an empty effect or (with Exists) an empty key matches everything. */
    private static boolean tolerates(Toleration toleration, Taint taint) {
        if (!nz(toleration.getEffect()).isEmpty() && !Objects.equals(toleration.getEffect(), taint.getEffect())) return false;
        if (!nz(toleration.getKey()).isEmpty() && !Objects.equals(toleration.getKey(), taint.getKey())) return false;
        return switch (nz(toleration.getOperator())) {
            case "Exists" -> true;
            case "", "Equal" -> nz(toleration.getValue()).equals(nz(taint.getValue()));
            default -> false;
        };
    }

    /** The node's allocatable resources as numbers (a fresh, mutable map). */
    private static Map<String, BigDecimal> allocatable(Node node) {
        Map<String, Quantity> allocatable = node.getStatus() == null ? null : node.getStatus().getAllocatable();
        Map<String, BigDecimal> out = new TreeMap<>();
        if (allocatable != null) allocatable.forEach((r, q) -> out.put(r, q.getNumericalAmount()));
        return out;
    }

    private static String plain(BigDecimal d) {
        return d.stripTrailingZeros().toPlainString();
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }

    private static <T> List<T> nz(List<T> list) {
        return list == null ? List.of() : list;
    }
}
