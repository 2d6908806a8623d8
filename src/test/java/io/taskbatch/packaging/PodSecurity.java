package io.taskbatch.packaging;

import io.fabric8.kubernetes.api.model.AppArmorProfile;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.SELinuxOptions;
import io.fabric8.kubernetes.api.model.SeccompProfile;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.WindowsSecurityContextOptions;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The restricted Pod Security Standard (which includes the baseline one), checked on a pod spec as
 * the API server's PodSecurity admission would check it in a namespace labelled
 * {@code pod-security.kubernetes.io/enforce: restricted}; and a check that no credential is written
 * into a pod spec. Shared by the tests of the manifests, the Helm chart and the operator's pods.
 * The annotation-based AppArmor profiles are not part of a PodSpec, so not checked here.
 */
public final class PodSecurity {
    /** Volume types the restricted profile allows (hostPath and the in-tree network disks are not). */
    static final Set<String> RESTRICTED_VOLUMES = Set.of("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
            "persistentVolumeClaim", "projected", "secret");
    /** The only capability a restricted container may add. */
    static final Set<String> ADDABLE_CAPABILITIES = Set.of("NET_BIND_SERVICE");
    static final Set<String> SECCOMP_TYPES = Set.of("RuntimeDefault", "Localhost");
    static final Set<String> APPARMOR_TYPES = Set.of("RuntimeDefault", "Localhost");
    static final Set<String> SELINUX_TYPES = Set.of("", "container_t", "container_init_t", "container_kvm_t", "container_engine_t");
    /** The baseline profile's safe sysctls. */
    static final Set<String> SAFE_SYSCTLS = Set.of("kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
            "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range",
            "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
            "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes");

    /** Env var names that suggest a credential. */
    static final Pattern CREDENTIAL_NAME = Pattern.compile("(?i)(pass|secret|token|uri|key)");
    /** A URL with a password in it (scheme://user:password@host), wherever it is written. */
    static final Pattern URL_WITH_PASSWORD = Pattern.compile("[a-zA-Z][a-zA-Z0-9+.-]*://[^/\\s:@]+:[^/\\s@]+@");
    /** Names that match CREDENTIAL_NAME but hold no credential. Keep this tiny; each entry says why. */
    static final Set<String> NOT_CREDENTIALS = Set.of(
            "TASKBATCH_OPERATOR_BROKER_SECRET"); // the NAME of the broker Secret the operator points batch pods at

    private static final KubernetesSerialization KUBE = new KubernetesSerialization();

    private PodSecurity() {
    }

    /** A container, init container or ephemeral container: what these checks read of each. */
    private record Box(String name, SecurityContext security, List<ContainerPort> ports, List<EnvVar> env, List<String> argv) {
    }

    private static List<Box> boxes(PodSpec pod) {
        List<Box> boxes = new ArrayList<>();
        Stream.concat(list(pod.getInitContainers()).stream(), list(pod.getContainers()).stream())
                .forEach(c -> boxes.add(new Box(c.getName(), c.getSecurityContext(), list(c.getPorts()), list(c.getEnv()),
                        concat(c.getCommand(), c.getArgs()))));
        list(pod.getEphemeralContainers()).forEach(c -> boxes.add(new Box(c.getName(), c.getSecurityContext(),
                list(c.getPorts()), list(c.getEnv()), concat(c.getCommand(), c.getArgs()))));
        return boxes;
    }

    /** What keeps this pod out of a restricted namespace; empty when it may run there. */
    public static List<String> restrictedViolations(PodSpec pod) {
        List<String> out = new ArrayList<>();
        if (isTrue(pod.getHostNetwork())) out.add("hostNetwork: true");
        if (isTrue(pod.getHostPID())) out.add("hostPID: true");
        if (isTrue(pod.getHostIPC())) out.add("hostIPC: true");
        for (Volume volume : list(pod.getVolumes())) {
            Map<String, Object> fields = KUBE.convertValue(volume, Map.class);
            fields.keySet().stream().filter(type -> !type.equals("name") && !RESTRICTED_VOLUMES.contains(type))
                    .forEach(type -> out.add("volume " + volume.getName() + ": type " + type + " is not allowed"));
        }
        PodSecurityContext podSc = pod.getSecurityContext() != null ? pod.getSecurityContext() : new PodSecurityContext();
        String podSeccomp = seccomp(podSc.getSeccompProfile());
        if (podSeccomp != null && !SECCOMP_TYPES.contains(podSeccomp)) out.add("pod seccompProfile " + podSeccomp);
        if (Long.valueOf(0).equals(podSc.getRunAsUser())) out.add("pod runAsUser: 0");
        if (Boolean.FALSE.equals(podSc.getRunAsNonRoot())) out.add("pod runAsNonRoot: false");
        checkSeLinux("pod", podSc.getSeLinuxOptions(), out);
        checkAppArmor("pod", podSc.getAppArmorProfile(), out);
        checkHostProcess("pod", podSc.getWindowsOptions(), out);
        list(podSc.getSysctls()).stream().filter(s -> !SAFE_SYSCTLS.contains(s.getName()))
                .forEach(s -> out.add("sysctl " + s.getName() + " is not safe"));
        for (Box c : boxes(pod)) {
            String where = "container " + c.name();
            SecurityContext sc = c.security() != null ? c.security() : new SecurityContext();
            if (isTrue(sc.getPrivileged())) out.add(where + ": privileged");
            if (!Boolean.FALSE.equals(sc.getAllowPrivilegeEscalation())) out.add(where + ": allowPrivilegeEscalation must be false");
            var caps = sc.getCapabilities();
            if (caps == null || !list(caps.getDrop()).contains("ALL")) out.add(where + ": capabilities must drop ALL");
            if (caps != null) list(caps.getAdd()).stream().filter(cap -> !ADDABLE_CAPABILITIES.contains(cap))
                    .forEach(cap -> out.add(where + ": adds capability " + cap));
            // runAsNonRoot: the container's own setting wins; unset, the pod's applies
            Boolean nonRoot = sc.getRunAsNonRoot() != null ? sc.getRunAsNonRoot() : podSc.getRunAsNonRoot();
            if (!isTrue(nonRoot)) out.add(where + ": runAsNonRoot must be true (on the pod or the container)");
            if (Long.valueOf(0).equals(sc.getRunAsUser())) out.add(where + ": runAsUser: 0");
            String seccomp = seccomp(sc.getSeccompProfile()) != null ? seccomp(sc.getSeccompProfile()) : podSeccomp;
            if (!SECCOMP_TYPES.contains(String.valueOf(seccomp))) {
                out.add(where + ": seccompProfile must be RuntimeDefault or Localhost (on the pod or the container), is " + seccomp);
            }
            if (sc.getProcMount() != null && !sc.getProcMount().equals("Default")) out.add(where + ": procMount " + sc.getProcMount());
            checkSeLinux(where, sc.getSeLinuxOptions(), out);
            checkAppArmor(where, sc.getAppArmorProfile(), out);
            checkHostProcess(where, sc.getWindowsOptions(), out);
            c.ports().stream().filter(p -> p.getHostPort() != null && p.getHostPort() != 0)
                    .forEach(p -> out.add(where + ": hostPort " + p.getHostPort()));
        }
        return out;
    }

    /** Credentials written into the pod spec instead of referenced from a Secret; empty when there are none. */
    public static List<String> plainCredentials(PodSpec pod) {
        List<String> out = new ArrayList<>();
        for (Box c : boxes(pod)) {
            for (EnvVar env : c.env()) {
                if (env.getValue() == null) continue; // valueFrom: a reference, resolved by the kubelet
                if (CREDENTIAL_NAME.matcher(env.getName()).find() && !NOT_CREDENTIALS.contains(env.getName())) {
                    out.add("container " + c.name() + ": env " + env.getName() + " has a literal value; use valueFrom.secretKeyRef");
                } else if (URL_WITH_PASSWORD.matcher(env.getValue()).find()) {
                    out.add("container " + c.name() + ": env " + env.getName() + " holds a URL with a password");
                }
            }
            c.argv().stream().filter(arg -> URL_WITH_PASSWORD.matcher(arg).find())
                    .forEach(arg -> out.add("container " + c.name() + ": a URL with a password in its command line"));
        }
        return out;
    }

    private static void checkSeLinux(String where, SELinuxOptions options, List<String> out) {
        if (options == null) return;
        if (!SELINUX_TYPES.contains(Objects.requireNonNullElse(options.getType(), ""))) out.add(where + ": seLinuxOptions.type " + options.getType());
        if (options.getUser() != null && !options.getUser().isEmpty()) out.add(where + ": seLinuxOptions.user is set");
        if (options.getRole() != null && !options.getRole().isEmpty()) out.add(where + ": seLinuxOptions.role is set");
    }

    private static void checkAppArmor(String where, AppArmorProfile profile, List<String> out) {
        if (profile != null && !APPARMOR_TYPES.contains(profile.getType())) out.add(where + ": appArmorProfile " + profile.getType());
    }

    private static void checkHostProcess(String where, WindowsSecurityContextOptions windows, List<String> out) {
        if (windows != null && isTrue(windows.getHostProcess())) out.add(where + ": windowsOptions.hostProcess");
    }

    private static String seccomp(SeccompProfile profile) {
        return profile == null ? null : profile.getType();
    }

    private static boolean isTrue(Boolean b) {
        return Boolean.TRUE.equals(b);
    }

    private static <T> List<T> list(List<T> l) {
        return l == null ? List.of() : l;
    }

    private static List<String> concat(List<String> a, List<String> b) {
        return Stream.concat(list(a).stream(), list(b).stream()).toList();
    }
}
