package io.taskbatch.operator;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeCondition;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Taint;
import io.fabric8.kubernetes.api.model.Toleration;
import io.taskbatch.api.WorkersSpec;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.Set;

/** Decides how many worker pods a batch runs: a fixed number, or "auto" from the cluster's eligible cores. */
public final class WorkerSizer {

    /** The number of worker pods and one human line explaining it, fit for an event. */
    public record Decision(int replicas, String reason) {}

    private WorkerSizer() {}

    /**
     * @param tasksLeft tasks not yet decided (total - succeeded - failed - dead), empty when the total is not known yet
     * @param slotsPerWorker task slots of one worker, at least 1
     */
    public static Decision size(WorkersSpec workers, Collection<Node> nodes, OptionalLong tasksLeft, int slotsPerWorker) {
        if (slotsPerWorker < 1) {
            throw new IllegalArgumentException("slotsPerWorker must be at least 1, was " + slotsPerWorker);
        }
        BigDecimal cpu = workerCpu(workers.getCpu());
        Integer fixed = fixedReplicas(workers.getReplicas());
        int replicas;
        StringBuilder reason = new StringBuilder();
        if (fixed != null) {
            replicas = Math.max(0, fixed);
            reason.append("fixed: ").append(replicas);
        } else {
            replicas = auto(workers, nodes, cpu, reason);
        }
        if (tasksLeft.isPresent()) {
            long left = Math.max(0, tasksLeft.getAsLong());
            // never 0 while the batch runs: a work-queue Job completes when a worker exits 0 on the batch's end,
            // and tasks still decided late (a retry, a dead worker's redelivery) need somebody to run them
            long needed = Math.max(1, (left + slotsPerWorker - 1) / slotsPerWorker);
            if (needed < replicas) {
                replicas = (int) needed;
                reason.append("; capped by work left (").append(left).append(left == 1 ? " task, " : " tasks, ")
                        .append(slotsPerWorker).append(slotsPerWorker == 1 ? " slot each) = " : " slots each) = ")
                        .append(replicas);
            }
        }
        return new Decision(replicas, reason.toString());
    }

    private static int auto(WorkersSpec workers, Collection<Node> nodes, BigDecimal cpu, StringBuilder reason) {
        Map<String, String> selector = workers.getNodeSelector() == null ? Map.of() : workers.getNodeSelector();
        List<Toleration> tolerations = workers.getTolerations() == null ? List.of() : workers.getTolerations();
        int eligible = 0, notReady = 0, cordoned = 0, mismatched = 0, tainted = 0;
        Set<String> untoleratedTaints = new LinkedHashSet<>();
        BigDecimal cores = BigDecimal.ZERO;
        for (Node node : nodes) {
            // each excluded node is counted under its first failing check only, so the counts add up
            if (!isReady(node)) {
                notReady++;
            } else if (node.getSpec() != null && Boolean.TRUE.equals(node.getSpec().getUnschedulable())) {
                cordoned++;
            } else if (!labels(node).entrySet().containsAll(selector.entrySet())) {
                mismatched++;
            } else {
                List<String> untolerated = untoleratedTaints(node, tolerations);
                if (!untolerated.isEmpty()) {
                    tainted++;
                    untoleratedTaints.addAll(untolerated);
                } else {
                    eligible++;
                    cores = cores.add(allocatableCpu(node));
                }
            }
        }
        reason.append("auto: ").append(eligible).append(" of ").append(nodes.size())
                .append(nodes.size() == 1 ? " node eligible" : " nodes eligible");
        List<String> excluded = new ArrayList<>();
        if (notReady > 0) excluded.add(notReady + " not ready");
        if (cordoned > 0) excluded.add(cordoned + " unschedulable");
        if (mismatched > 0) excluded.add(mismatched + " not matching nodeSelector " + selector);
        if (tainted > 0) excluded.add(tainted + " with untolerated taint" + (untoleratedTaints.size() == 1 ? " " : "s ")
                + String.join(", ", untoleratedTaints));
        if (!excluded.isEmpty()) reason.append(" (").append(String.join(", ", excluded)).append(')');
        if (eligible == 0) {
            // a pending pod with its scheduling reason tells the user more than no pod at all
            reason.append("; 1 worker so its pending pod shows why");
            return 1;
        }
        long fit = cores.divide(cpu, 0, RoundingMode.FLOOR).min(BigDecimal.valueOf(Integer.MAX_VALUE)).longValue();
        reason.append("; ").append(plain(cores)).append(" cores / ").append(plain(cpu))
                .append(" CPU per worker = ").append(fit);
        int replicas = (int) fit;
        if (replicas < 1) {
            replicas = 1;
            reason.append(", at least 1");
        }
        if (replicas > workers.getMaxReplicas() && workers.getMaxReplicas() >= 1) {
            replicas = workers.getMaxReplicas();
            reason.append("; capped by maxReplicas ").append(replicas);
        }
        return replicas;
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
                && allocatableCpu(a).compareTo(allocatableCpu(b)) == 0;
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

    private static BigDecimal allocatableCpu(Node node) {
        Map<String, Quantity> allocatable = node.getStatus() == null ? null : node.getStatus().getAllocatable();
        Quantity cpu = allocatable == null ? null : allocatable.get("cpu");
        return cpu == null ? BigDecimal.ZERO : cpu.getNumericalAmount();
    }

    private static String plain(BigDecimal d) {
        return d.stripTrailingZeros().toPlainString();
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }
}
