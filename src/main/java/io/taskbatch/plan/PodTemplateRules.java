package io.taskbatch.plan;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * What a user's pod template ({@code spec.workers.template}, {@code spec.master.template}) may set and what the
 * operator owns. The operator's pod builder merges by the same rules (io.taskbatch.operator.PodTemplateMerge); here
 * every field a template may not set becomes a violation naming its path, so a bad template never starts a pod.
 */
public final class PodTemplateRules {
    /** The variables the operator gives the master and worker containers. */
    public static final Set<String> RESERVED_ENV = Set.of("TASKBATCH_BROKER_URI", "TASKBATCH_BROKER_URI_FILE",
            "TASKBATCH_MANIFEST", "TASKBATCH_FILES_ROOT", "TASKBATCH_LOG_FORMAT", "TASKBATCH_HTTP_PORT",
            "QUARKUS_SHUTDOWN_DELAY");
    /** The operator's volumes (a template's volume of such a name is rejected). */
    public static final Set<String> RESERVED_VOLUMES = Set.of("tmp", "state", "tasks", "results");
    /** Where the operator mounts its volumes. */
    public static final Set<String> RESERVED_MOUNT_PATHS = Set.of("/tmp", "/var/run/taskbatch", "/mnt/tasks", "/mnt/results");
    /** The operator's labels, and those the Job controller puts on its pods. */
    public static final Set<String> RESERVED_LABELS = Set.of("app.kubernetes.io/name", "app.kubernetes.io/instance",
            "app.kubernetes.io/component", "app.kubernetes.io/managed-by", "taskbatch.io/batch", "job-name", "controller-uid");
    private static final String JOB_LABEL_PREFIX = "batch.kubernetes.io/";
    /** Volume types the restricted Pod Security Standard allows. */
    public static final Set<String> RESTRICTED_VOLUMES = Set.of("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
            "persistentVolumeClaim", "projected", "secret");
    /** Resources spec.workers.cpu and spec.workers.memory (spec.master.cpu, memory) set on the role's container. */
    static final Set<String> OWNED_REQUESTS = Set.of("cpu", "memory");
    static final Set<String> OWNED_LIMITS = Set.of("memory");

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Which pod the template is for, and what the rest of the spec already says about it. */
    public record Role(String container, String field, String cpuField, String memoryField, String cpu,
                       boolean serviceAccountOwned, String runHint) {
        public static Role worker(String cpu) {
            return new Role("worker", "spec.workers", "spec.workers.cpu", "spec.workers.memory", cpu, false,
                    "put the command in spec.run.command (or spec.run.processPool.command)");
        }

        public static Role master(String cpu) {
            return new Role("master", "spec.master", "spec.master.cpu", "spec.master.memory", cpu, true,
                    "the master runs the operator's own program");
        }
    }

    private PodTemplateRules() {
    }

    /**
     * Adds to {@code v} every field of {@code template} the rules refuse. {@code env}, {@code nodeSelector}, {@code image}
     * and {@code serviceAccountName} are what the role's own fields (spec.workers.env, ...) set beside the template, null
     * when unset: the template may repeat them but not contradict them.
     */
    public static void check(PodTemplateSpec template, Role role, Map<String, String> env, Map<String, String> nodeSelector,
                             String image, String serviceAccountName, List<Violation> v) {
        if (template == null) return;
        String t = role.field() + ".template";
        if (template.getMetadata() != null && template.getMetadata().getLabels() != null) {
            for (String key : template.getMetadata().getLabels().keySet()) {
                if (RESERVED_LABELS.contains(key) || key.startsWith(JOB_LABEL_PREFIX)) {
                    v.add(new Violation(t + ".metadata.labels[" + key + "]", "is set by the operator (or the Job controller); "
                            + "use a label of your own"));
                }
            }
        }
        List<String> unknown = new ArrayList<>();
        unknownFields(template, t, unknown);
        unknown.forEach(f -> v.add(new Violation(f, "unknown field \"" + f.substring(f.lastIndexOf('.') + 1)
                + "\" (kubectl explain pod.spec lists the fields of a pod template)")));
        PodSpec spec = template.getSpec();
        if (spec == null) return;
        String s = t + ".spec";
        owned(spec.getRestartPolicy(), s + ".restartPolicy", "the Job restarts a failed container in place (OnFailure)", v);
        owned(spec.getAutomountServiceAccountToken(), s + ".automountServiceAccountToken",
                "workers get no API token, the master gets its own Role's", v);
        owned(spec.getTerminationGracePeriodSeconds(), s + ".terminationGracePeriodSeconds",
                "it is the time a stopping worker has to hand its tasks back", v);
        owned(spec.getActiveDeadlineSeconds(), s + ".activeDeadlineSeconds", "use spec.taskTimeout for a task's time", v);
        owned(spec.getNodeName(), s + ".nodeName", "it would bypass the scheduler; use nodeSelector or affinity", v);
        owned(spec.getServiceAccount(), s + ".serviceAccount", "a deprecated alias; use serviceAccountName", v);
        if (!spec.getEphemeralContainers().isEmpty()) {
            v.add(new Violation(s + ".ephemeralContainers", "cannot be set when a pod is created; remove it"));
        }
        if (spec.getResources() != null) {
            v.add(new Violation(s + ".resources", "pod-level resources are not supported: set resources on the containers"));
        }
        Map<String, Boolean> hostNamespaces = new java.util.LinkedHashMap<>();
        hostNamespaces.put("hostNetwork", spec.getHostNetwork());
        hostNamespaces.put("hostPID", spec.getHostPID());
        hostNamespaces.put("hostIPC", spec.getHostIPC());
        hostNamespaces.forEach((host, value) -> {
            if (Boolean.TRUE.equals(value)) {
                v.add(new Violation(s + "." + host, "must not be true: the pods keep the restricted Pod Security Standard"));
            }
        });
        if (spec.getServiceAccountName() != null) {
            if (role.serviceAccountOwned()) {
                v.add(new Violation(s + ".serviceAccountName", "is set by the operator: the master runs as its own "
                        + "ServiceAccount, bound to the Role it needs"));
            } else if (serviceAccountName != null && !serviceAccountName.equals(spec.getServiceAccountName())) {
                v.add(new Violation(s + ".serviceAccountName", "\"" + spec.getServiceAccountName() + "\" differs from "
                        + role.field() + ".serviceAccountName \"" + serviceAccountName + "\"; set it in one place"));
            }
        }
        if (spec.getNodeSelector() != null && nodeSelector != null) {
            spec.getNodeSelector().forEach((key, value) -> {
                if (nodeSelector.containsKey(key) && !Objects.equals(nodeSelector.get(key), value)) {
                    v.add(new Violation(s + ".nodeSelector[" + key + "]", "\"" + value + "\" differs from " + role.field()
                            + ".nodeSelector[" + key + "] \"" + nodeSelector.get(key) + "\"; set it in one place"));
                }
            });
        }
        podSecurity(spec.getSecurityContext(), s + ".securityContext", v);
        Set<String> volumes = new HashSet<>();
        for (int i = 0; i < spec.getVolumes().size(); i++) {
            Volume volume = spec.getVolumes().get(i);
            String f = s + ".volumes[" + (volume.getName() == null ? i : volume.getName()) + "]";
            if (volume.getName() == null || volume.getName().isBlank()) {
                v.add(new Violation(f + ".name", "required"));
                continue;
            }
            if (RESERVED_VOLUMES.contains(volume.getName())) {
                v.add(new Violation(f, "the name is the operator's (" + String.join(", ", sorted(RESERVED_VOLUMES))
                        + "); rename the volume"));
            }
            if (!volumes.add(volume.getName())) v.add(new Violation(f, "a second volume of this name"));
            for (Iterator<String> types = JSON.valueToTree(volume).fieldNames(); types.hasNext(); ) {
                String type = types.next();
                if (!type.equals("name") && !RESTRICTED_VOLUMES.contains(type)) {
                    v.add(new Violation(f + "." + type, "is not allowed by the restricted Pod Security Standard; use one of "
                            + String.join(", ", sorted(RESTRICTED_VOLUMES))));
                }
            }
        }
        Set<String> names = new HashSet<>();
        for (int i = 0; i < spec.getInitContainers().size(); i++) {
            Container c = spec.getInitContainers().get(i);
            String f = s + ".initContainers[" + (c.getName() == null ? i : c.getName()) + "]";
            container(c, f, names, false, v);
        }
        for (int i = 0; i < spec.getContainers().size(); i++) {
            Container c = spec.getContainers().get(i);
            String f = s + ".containers[" + (c.getName() == null ? i : c.getName()) + "]";
            container(c, f, names, role.container().equals(c.getName()), v);
            if (role.container().equals(c.getName())) {
                roleContainer(c, f, role, env, image, v);
            }
        }
        for (int i = 0; i < spec.getContainers().size(); i++) {
            Container c = spec.getContainers().get(i);
            if (c.getImage() == null && c.getName() != null && !role.container().equals(c.getName())) {
                v.add(new Violation(s + ".containers[" + c.getName() + "].image", "required: a sidecar needs its own image "
                        + "(the task's container is the one named " + role.container() + ")"));
            }
        }
        for (Container c : spec.getInitContainers()) {
            if (c.getImage() == null && c.getName() != null) {
                v.add(new Violation(s + ".initContainers[" + c.getName() + "].image", "required: an init container needs its own image"));
            }
        }
    }

    /** What every container of a template must be: named once, restricted, with extended resources as the API requires. */
    private static void container(Container c, String f, Set<String> names, boolean role, List<Violation> v) {
        if (c.getName() == null || c.getName().isBlank()) {
            v.add(new Violation(f + ".name", "required"));
        } else if (!names.add(c.getName())) {
            v.add(new Violation(f + ".name", "a second container of this name"));
        }
        containerSecurity(c.getSecurityContext(), f + ".securityContext", role, v);
        ResourceRequirements r = c.getResources();
        if (r != null && r.getRequests() != null) {
            r.getRequests().forEach((name, request) -> {
                if (!extended(name)) return;
                Quantity limit = r.getLimits() == null ? null : r.getLimits().get(name);
                if (limit == null) {
                    v.add(new Violation(f + ".resources.limits[" + name + "]", "required: an extended resource is set by its "
                            + "limit (the request, if given, must equal it)"));
                } else if (amount(limit).compareTo(amount(request)) != 0) {
                    v.add(new Violation(f + ".resources.requests[" + name + "]", request + " must equal the limit " + limit
                            + " (an extended resource cannot be overcommitted)"));
                }
            });
        }
    }

    private static void roleContainer(Container c, String f, Role role, Map<String, String> env, String image, List<Violation> v) {
        owned(c.getCommand().isEmpty() ? null : c.getCommand(), f + ".command", role.runHint(), v);
        owned(c.getArgs().isEmpty() ? null : c.getArgs(), f + ".args", role.runHint(), v);
        owned(c.getPorts().isEmpty() ? null : c.getPorts(), f + ".ports", "the container serves metrics and health on its "
                + "port named metrics", v);
        owned(c.getReadinessProbe(), f + ".readinessProbe", "ready means consuming the batch's tasks", v);
        owned(c.getLivenessProbe(), f + ".livenessProbe", "a long task must not get its worker killed", v);
        owned(c.getStartupProbe(), f + ".startupProbe", "readiness already covers the start", v);
        owned(c.getLifecycle(), f + ".lifecycle", "a stopping worker hands its tasks back on SIGTERM", v);
        if (image != null && c.getImage() != null && !image.equals(c.getImage())) {
            v.add(new Violation(f + ".image", "\"" + c.getImage() + "\" differs from " + role.field() + ".image \"" + image
                    + "\"; set it in one place"));
        }
        for (int i = 0; i < c.getEnv().size(); i++) {
            EnvVar e = c.getEnv().get(i);
            String name = e.getName();
            String ef = f + ".env[" + (name == null ? i : name) + "]";
            if (name == null || name.isBlank()) {
                v.add(new Violation(ef + ".name", "required"));
            } else if (RESERVED_ENV.contains(name)) {
                v.add(new Violation(ef, "is set by the operator; choose another name"));
            } else if (env != null && env.containsKey(name)) {
                v.add(new Violation(ef, "is also in " + role.field() + ".env; set it in one place"));
            }
        }
        for (int i = 0; i < c.getVolumeMounts().size(); i++) {
            VolumeMount m = c.getVolumeMounts().get(i);
            if (m.getMountPath() != null && RESERVED_MOUNT_PATHS.contains(m.getMountPath().replaceAll("(.)/+$", "$1"))) {
                v.add(new Violation(f + ".volumeMounts[" + (m.getName() == null ? i : m.getName()) + "].mountPath",
                        m.getMountPath() + " is where the operator mounts its own volume; mount yours elsewhere"));
            }
        }
        ResourceRequirements r = c.getResources();
        if (r != null) {
            if (r.getRequests() != null) {
                for (String name : sorted(OWNED_REQUESTS)) {
                    if (r.getRequests().containsKey(name)) {
                        v.add(new Violation(f + ".resources.requests[" + name + "]", "is set from "
                                + (name.equals("cpu") ? role.cpuField() : role.memoryField()) + "; set it there"));
                    }
                }
            }
            if (r.getLimits() != null) {
                for (String name : sorted(OWNED_LIMITS)) {
                    if (r.getLimits().containsKey(name)) {
                        v.add(new Violation(f + ".resources.limits[" + name + "]", "is set from " + role.memoryField()
                                + " (the memory limit equals the request); set it there"));
                    }
                }
                Quantity cpuLimit = r.getLimits().get("cpu");
                if (cpuLimit != null && role.cpu() != null && amount(cpuLimit).compareTo(amount(new Quantity(role.cpu()))) < 0) {
                    v.add(new Violation(f + ".resources.limits[cpu]", cpuLimit + " is less than " + role.cpuField() + " "
                            + role.cpu() + " (a limit cannot be below the request)"));
                }
            }
        }
    }

    private static void podSecurity(PodSecurityContext sc, String f, List<Violation> v) {
        if (sc == null) return;
        if (Boolean.FALSE.equals(sc.getRunAsNonRoot())) v.add(loosens(f + ".runAsNonRoot"));
        if (sc.getRunAsUser() != null && sc.getRunAsUser() == 0) v.add(loosens(f + ".runAsUser"));
        if (sc.getSeccompProfile() != null && "Unconfined".equals(sc.getSeccompProfile().getType())) {
            v.add(loosens(f + ".seccompProfile.type"));
        }
    }

    private static void containerSecurity(SecurityContext sc, String f, boolean role, List<Violation> v) {
        if (sc == null) return;
        if (Boolean.TRUE.equals(sc.getPrivileged())) v.add(loosens(f + ".privileged"));
        if (Boolean.TRUE.equals(sc.getAllowPrivilegeEscalation())) v.add(loosens(f + ".allowPrivilegeEscalation"));
        if (Boolean.FALSE.equals(sc.getRunAsNonRoot())) v.add(loosens(f + ".runAsNonRoot"));
        if (sc.getRunAsUser() != null && sc.getRunAsUser() == 0) v.add(loosens(f + ".runAsUser"));
        if (role && Boolean.FALSE.equals(sc.getReadOnlyRootFilesystem())) {
            v.add(new Violation(f + ".readOnlyRootFilesystem", "must not be false: the root filesystem stays read-only; "
                    + "mount an emptyDir volume where the program writes"));
        }
        if (sc.getSeccompProfile() != null && "Unconfined".equals(sc.getSeccompProfile().getType())) {
            v.add(loosens(f + ".seccompProfile.type"));
        }
        if (sc.getCapabilities() != null && sc.getCapabilities().getAdd() != null) {
            for (String cap : sc.getCapabilities().getAdd()) {
                if (!"NET_BIND_SERVICE".equals(cap)) {
                    v.add(new Violation(f + ".capabilities.add[" + cap + "]", "only NET_BIND_SERVICE may be added under the "
                            + "restricted Pod Security Standard"));
                }
            }
        }
    }

    /**
     * Fields the Kubernetes model kept aside as unknown (a misspelling), as paths: the local run and the operator
     * refuse them as the API server's strict field validation does (and the manifests' tests check every object of
     * the examples and the install files with it). {@code path} is the value's own ("" for a whole object).
     */
    public static void unknownFields(Object value, String path, List<String> out) {
        if (value instanceof Collection<?> items) {
            int i = 0;
            for (Object item : items) unknownFields(item, path + "[" + i++ + "]", out);
            return;
        }
        if (value instanceof Map<?, ?> map) {
            map.forEach((k, item) -> unknownFields(item, path + "[" + k + "]", out));
            return;
        }
        if (value == null || !value.getClass().getPackageName().startsWith("io.fabric8.kubernetes.api.model")
                || value instanceof Quantity || value instanceof IntOrString) return;
        for (Method getter : value.getClass().getMethods()) {
            if (getter.getParameterCount() > 0 || Modifier.isStatic(getter.getModifiers()) || !getter.getName().startsWith("get")
                    || getter.getDeclaringClass() == Object.class) continue;
            Object field;
            try {
                field = getter.invoke(value);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(getter.toString(), e);
            }
            String name = getter.getName().substring(3);
            if (name.equals("AdditionalProperties") && field instanceof Map<?, ?> extra) {
                extra.keySet().forEach(k -> out.add(child(path, k.toString())));
            } else {
                unknownFields(field, child(path, Character.toLowerCase(name.charAt(0)) + name.substring(1)), out);
            }
        }
    }

    private static String child(String path, String field) {
        return path.isEmpty() ? field : path + "." + field;
    }

    private static Violation loosens(String field) {
        return new Violation(field, "would loosen the restricted Pod Security Standard the operator's pods keep; "
                + "a template may only tighten it");
    }

    private static void owned(Object value, String field, String why, List<Violation> v) {
        if (value != null) v.add(new Violation(field, "is set by the operator; " + why));
    }

    /** A resource that is not cpu, memory, ephemeral-storage or hugepages: a device plugin's, such as nvidia.com/gpu. */
    public static boolean extended(String name) {
        return name.contains("/") && !name.startsWith("kubernetes.io/") && !name.contains(".kubernetes.io/");
    }

    private static BigDecimal amount(Quantity q) {
        return Quantity.getAmountInBytes(q);
    }

    private static List<String> sorted(Set<String> set) {
        List<String> out = new ArrayList<>(set);
        out.sort(null);
        return out;
    }
}
