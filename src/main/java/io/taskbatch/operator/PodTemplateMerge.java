package io.taskbatch.operator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * A user's pod template merged with the pod the operator builds, by the rules of
 * {@link io.taskbatch.plan.PodTemplateRules} (which rejects a template that sets what the operator owns before any
 * pod is built; the merge still lets the operator's value win, so a template can never loosen a pod). The README's
 * "Worker pod template" table is the user's view of the same rules.
 */
final class PodTemplateMerge {
    private static final KubernetesSerialization KUBE = new KubernetesSerialization();

    private PodTemplateMerge() {
    }

    /**
     * @param ours                the operator's template: labels, and a spec whose first container is the role's
     * @param user                the user's template, or null
     * @param serviceAccountOwned whether ours's serviceAccountName wins over the template's (the master's)
     */
    static PodTemplateSpec merge(PodTemplateSpec ours, PodTemplateSpec user, boolean serviceAccountOwned) {
        if (user == null) return ours;
        PodTemplateSpec out = KUBE.clone(user);
        Map<String, String> labels = new LinkedHashMap<>();
        if (out.getMetadata() != null && out.getMetadata().getLabels() != null) labels.putAll(out.getMetadata().getLabels());
        labels.putAll(ours.getMetadata().getLabels());
        out.setMetadata(new ObjectMetaBuilder().withLabels(labels)
                .withAnnotations(out.getMetadata() == null ? null : out.getMetadata().getAnnotations()).build());

        PodSpec o = ours.getSpec();
        PodSpec u = out.getSpec() == null ? new PodSpec() : out.getSpec();
        out.setSpec(u);
        // owned by the operator
        u.setRestartPolicy(o.getRestartPolicy());
        u.setAutomountServiceAccountToken(o.getAutomountServiceAccountToken());
        u.setTerminationGracePeriodSeconds(o.getTerminationGracePeriodSeconds());
        u.setActiveDeadlineSeconds(o.getActiveDeadlineSeconds());
        u.setNodeName(null);
        u.setServiceAccount(null);
        u.setEphemeralContainers(new ArrayList<>());
        u.setResources(null);
        u.setHostNetwork(null);
        u.setHostPID(null);
        u.setHostIPC(null);
        if (serviceAccountOwned || u.getServiceAccountName() == null) u.setServiceAccountName(o.getServiceAccountName());
        // the role's own fields (spec.workers.nodeSelector, spec.master.affinity, ...) and the template's together
        u.setNodeSelector(union(u.getNodeSelector(), o.getNodeSelector()));
        u.setTolerations(concat(o.getTolerations(), u.getTolerations()));
        if (u.getAffinity() == null) u.setAffinity(o.getAffinity());
        if (u.getPriorityClassName() == null) u.setPriorityClassName(o.getPriorityClassName());
        u.setSecurityContext(overlay(o.getSecurityContext(), u.getSecurityContext(), PodSecurityContext.class));
        u.setVolumes(concat(o.getVolumes(), u.getVolumes()));

        Container role = o.getContainers().get(0);
        List<Container> containers = new ArrayList<>();
        Container userRole = u.getContainers().stream().filter(c -> role.getName().equals(c.getName())).findFirst().orElse(null);
        containers.add(userRole == null ? role : roleContainer(role, userRole));
        for (Container c : u.getContainers()) {
            if (c != userRole) containers.add(extraContainer(c, role.getSecurityContext()));
        }
        u.setContainers(containers);
        u.setInitContainers(u.getInitContainers().stream().map(c -> extraContainer(c, role.getSecurityContext())).toList());
        return out;
    }

    /** The role's container: the operator's program and plumbing, with the template's env, mounts, resources added. */
    private static Container roleContainer(Container ours, Container user) {
        Container c = KUBE.clone(user);
        c.setName(ours.getName());
        c.setCommand(ours.getCommand());
        c.setArgs(ours.getArgs());
        c.setPorts(ours.getPorts());
        c.setReadinessProbe(ours.getReadinessProbe());
        c.setLivenessProbe(ours.getLivenessProbe());
        c.setStartupProbe(ours.getStartupProbe());
        c.setLifecycle(ours.getLifecycle());
        if (c.getImage() == null) c.setImage(ours.getImage());
        if (c.getImagePullPolicy() == null) c.setImagePullPolicy(ours.getImagePullPolicy());
        // ours first: a user variable may refer to ours with $(NAME), and a reserved name was refused
        c.setEnv(concat(ours.getEnv(), user.getEnv()));
        c.setVolumeMounts(concat(ours.getVolumeMounts(), user.getVolumeMounts()));
        ResourceRequirements r = user.getResources() == null ? new ResourceRequirements() : user.getResources();
        r.setRequests(union(r.getRequests(), ours.getResources().getRequests()));
        r.setLimits(union(r.getLimits(), ours.getResources().getLimits()));
        c.setResources(defaultRequests(r));
        c.setSecurityContext(containerSecurity(ours.getSecurityContext(), user.getSecurityContext(), true));
        return c;
    }

    /** A sidecar or init container: as given, with the restricted defaults where it says nothing. */
    private static Container extraContainer(Container user, SecurityContext restricted) {
        Container c = KUBE.clone(user);
        c.setSecurityContext(containerSecurity(restricted, user.getSecurityContext(), false));
        if (c.getResources() != null) c.setResources(defaultRequests(c.getResources()));
        return c;
    }

    private static SecurityContext containerSecurity(SecurityContext ours, SecurityContext user, boolean keepReadOnlyRoot) {
        SecurityContext merged = overlay(ours, user, SecurityContext.class);
        if (ours.getCapabilities() != null && ours.getCapabilities().getDrop() != null) {
            // a template may drop more capabilities, never fewer
            var drop = new LinkedHashSet<>(ours.getCapabilities().getDrop());
            if (user != null && user.getCapabilities() != null && user.getCapabilities().getDrop() != null) {
                drop.addAll(user.getCapabilities().getDrop());
            }
            merged.getCapabilities().setDrop(new ArrayList<>(drop));
        }
        if (keepReadOnlyRoot) merged.setReadOnlyRootFilesystem(ours.getReadOnlyRootFilesystem());
        return merged;
    }

    /** As the API server defaults them: a resource with a limit and no request requests its limit. */
    static ResourceRequirements defaultRequests(ResourceRequirements r) {
        if (r.getLimits() == null || r.getLimits().isEmpty()) return r;
        Map<String, Quantity> requests = new LinkedHashMap<>(r.getRequests() == null ? Map.of() : r.getRequests());
        r.getLimits().forEach(requests::putIfAbsent);
        r.setRequests(requests);
        return r;
    }

    /** {@code base} with every field {@code over} sets, objects merged field by field. */
    private static <T> T overlay(T base, T over, Class<T> type) {
        if (over == null) return base == null ? null : KUBE.clone(base);
        if (base == null) return KUBE.clone(over);
        ObjectNode merged = KUBE.convertValue(base, ObjectNode.class);
        deepMerge(merged, KUBE.convertValue(over, JsonNode.class));
        return KUBE.convertValue(merged, type);
    }

    private static void deepMerge(ObjectNode base, JsonNode over) {
        over.properties().forEach(e -> {
            JsonNode old = base.get(e.getKey());
            if (old instanceof ObjectNode o && e.getValue() instanceof ObjectNode) deepMerge(o, e.getValue());
            else base.set(e.getKey(), e.getValue());
        });
    }

    /** {@code first} with {@code second}'s entries; {@code second} wins a clash (the validator refused clashes). */
    private static <V> Map<String, V> union(Map<String, V> first, Map<String, V> second) {
        Map<String, V> out = new LinkedHashMap<>();
        if (first != null) out.putAll(first);
        if (second != null) out.putAll(second);
        return out.isEmpty() ? null : out;
    }

    private static <T> List<T> concat(List<T> first, List<T> second) {
        List<T> out = new ArrayList<>();
        if (first != null) out.addAll(first);
        if (second != null) out.addAll(second);
        return out;
    }
}
