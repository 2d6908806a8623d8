package io.taskbatch.testing;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarSource;
import io.fabric8.kubernetes.api.model.KeyToPath;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Turns a pod's container spec into a {@link ContainerLaunch}, as the kubelet and the container runtime would: env
 * (values, Secret/ConfigMap/field refs, {@code $(VAR)}), volumes as host directories, and every arg and env value
 * that names a mount path rewritten to its host path (this stands in for the mount namespace).
 */
final class LaunchResolver {

    static final String NODE_NAME = "kubelet-local";

    private final KubernetesClient client;
    private final Kubelet.TokenIssuer tokens;
    private final String namespace;
    private final Path workDir;
    private final Path jar;
    private final Map<String, String> apiEnv;

    LaunchResolver(KubernetesClient client, Kubelet.TokenIssuer tokens, String namespace, Path workDir, Path jar,
                   Map<String, String> apiEnv) {
        this.client = client;
        this.tokens = tokens;
        this.namespace = namespace;
        this.workDir = workDir;
        this.jar = jar;
        this.apiEnv = Map.copyOf(apiEnv);
    }

    ContainerLaunch resolve(PodProcess pod) throws ContainerConfigException {
        PodSpec spec = pod.spec();
        if (spec.getContainers().size() != 1 || !spec.getInitContainers().isEmpty()) {
            throw new ContainerConfigException("this kubelet runs exactly one container per pod and no init containers");
        }
        Container c = pod.container();
        boolean apiAccess = !Boolean.FALSE.equals(spec.getAutomountServiceAccountToken());
        Map<String, String> env = new LinkedHashMap<>(); // host values: never rewritten
        env.put("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
        env.put("HOME", pod.dir().toString()); // not ours: keeps the test JVM user's ~/.kube/config out of reach
        env.put("HOSTNAME", pod.name());
        if (apiAccess) {
            env.putAll(apiEnv);
            if (tokens != null) { // the projected service account token, handed over as fabric8's and Quarkus' settings
                String sa = spec.getServiceAccountName() == null || spec.getServiceAccountName().isEmpty() ? "default"
                        : spec.getServiceAccountName();
                String token;
                try {
                    token = tokens.token(namespace, sa);
                } catch (IllegalArgumentException e) {
                    throw new ContainerConfigException("token for service account " + namespace + "/" + sa + ": " + e.getMessage());
                }
                env.put("KUBERNETES_AUTH_TOKEN", token);
                env.put("QUARKUS_KUBERNETES_CLIENT_TOKEN", token);
            }
        }
        Map<String, String> declared = new LinkedHashMap<>(); // the container's own values: container paths
        Function<String, String> vars = name -> declared.containsKey(name) ? declared.get(name) : env.get(name);
        for (EnvFromSource from : c.getEnvFrom()) {
            String prefix = from.getPrefix() == null ? "" : from.getPrefix();
            var cm = from.getConfigMapRef();
            var secret = from.getSecretRef();
            Map<String, byte[]> data;
            if (cm != null) data = source("ConfigMap", cm.getName(), cm.getOptional());
            else if (secret != null) data = source("Secret", secret.getName(), secret.getOptional());
            else throw new ContainerConfigException("unsupported envFrom " + from);
            data.forEach((k, v) -> declared.put(prefix + k, new String(v, StandardCharsets.UTF_8)));
        }
        for (EnvVar e : c.getEnv()) {
            String value = e.getValueFrom() == null ? expand(e.getValue() == null ? "" : e.getValue(), vars)
                    : valueFrom(e.getValueFrom(), pod);
            if (value != null) declared.put(e.getName(), value);
        }

        Map<String, Path> mounts = new LinkedHashMap<>();
        for (VolumeMount m : c.getVolumeMounts()) {
            Path host = volume(pod, m.getName());
            String sub = m.getSubPathExpr() != null ? expand(m.getSubPathExpr(), vars) : m.getSubPath();
            if (sub != null && !sub.isEmpty()) host = host.resolve(sub);
            if (!Files.exists(host)) createDirectories(host);
            mounts.put(m.getMountPath().replaceAll("(.)/+$", "$1"), host);
        }
        Function<String, String> rewrite = pathRewriter(mounts);

        List<String> argv = new ArrayList<>();
        if (c.getCommand().isEmpty()) { // the image's entrypoint: our packaged app
            argv.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:+UseSerialGC", "-Xmx256m"));
            if (Runtime.version().feature() >= 23) argv.add("--sun-misc-unsafe-memory-access=allow"); // else Netty warns
            argv.addAll(List.of("-jar", jar.toAbsolutePath().toString()));
        } else {
            c.getCommand().forEach(s -> argv.add(rewrite.apply(expand(s, vars))));
        }
        c.getArgs().forEach(s -> argv.add(rewrite.apply(expand(s, vars))));
        // pods share the host's network here: each declared container port gets a free host port, and an env value
        // that names the container port (how our roles learn theirs) is rewritten to it, as mount paths are
        Map<String, Integer> hostPorts = new LinkedHashMap<>();
        Map<String, String> portValues = new LinkedHashMap<>();
        for (ContainerPort port : c.getPorts()) {
            int host = freePort();
            hostPorts.put(port.getName() == null ? String.valueOf(port.getContainerPort()) : port.getName(), host);
            portValues.put(String.valueOf(port.getContainerPort()), String.valueOf(host));
        }
        declared.forEach((k, v) -> env.put(k, rewrite.apply(portValues.getOrDefault(v, v))));
        env.put("TASKBATCH_KUBELET", "1");
        String wd = c.getWorkingDir() == null ? null : rewrite.apply(c.getWorkingDir());
        Path workingDir = wd == null || wd.equals(c.getWorkingDir()) ? pod.dir() : Path.of(wd);
        return new ContainerLaunch(argv, env, workingDir, apiAccess, hostPorts);
    }

    private static int freePort() throws ContainerConfigException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new ContainerConfigException("no free host port: " + e.getMessage());
        }
    }

    private String valueFrom(EnvVarSource from, PodProcess pod) throws ContainerConfigException {
        if (from.getSecretKeyRef() != null) {
            var ref = from.getSecretKeyRef();
            return key("Secret", ref.getName(), ref.getKey(), ref.getOptional());
        }
        if (from.getConfigMapKeyRef() != null) {
            var ref = from.getConfigMapKeyRef();
            return key("ConfigMap", ref.getName(), ref.getKey(), ref.getOptional());
        }
        if (from.getFieldRef() != null) {
            String path = from.getFieldRef().getFieldPath();
            return switch (path) {
                case "metadata.name" -> pod.name();
                case "metadata.namespace" -> namespace;
                case "metadata.uid" -> pod.uid();
                case "spec.nodeName" -> NODE_NAME;
                case "spec.serviceAccountName" ->
                        pod.spec().getServiceAccountName() == null ? "default" : pod.spec().getServiceAccountName();
                case "status.podIP", "status.hostIP" -> "127.0.0.1";
                default -> throw new ContainerConfigException("unsupported fieldRef " + path);
            };
        }
        throw new ContainerConfigException("unsupported valueFrom " + from);
    }

    private String key(String kind, String name, String key, Boolean optional) throws ContainerConfigException {
        byte[] v = source(kind, name, optional).get(key);
        if (v != null) return new String(v, StandardCharsets.UTF_8);
        if (Boolean.TRUE.equals(optional)) return null;
        throw new ContainerConfigException("couldn't find key " + key + " in " + kind + " " + namespace + "/" + name);
    }

    /** A Secret's or ConfigMap's data, decoded; empty when missing and optional. */
    private Map<String, byte[]> source(String kind, String name, Boolean optional) throws ContainerConfigException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        Base64.Decoder b64 = Base64.getDecoder();
        if (kind.equals("Secret")) {
            Secret s = client.secrets().inNamespace(namespace).withName(name).get();
            if (s != null) {
                if (s.getData() != null) s.getData().forEach((k, v) -> out.put(k, b64.decode(v)));
                // the mock server stores stringData as sent; a real API server folds it into data
                if (s.getStringData() != null) s.getStringData().forEach((k, v) -> out.put(k, v.getBytes(StandardCharsets.UTF_8)));
                return out;
            }
        } else {
            ConfigMap cm = client.configMaps().inNamespace(namespace).withName(name).get();
            if (cm != null) {
                if (cm.getData() != null) cm.getData().forEach((k, v) -> out.put(k, v.getBytes(StandardCharsets.UTF_8)));
                if (cm.getBinaryData() != null) cm.getBinaryData().forEach((k, v) -> out.put(k, b64.decode(v)));
                return out;
            }
        }
        if (Boolean.TRUE.equals(optional)) return out;
        throw new ContainerConfigException(kind.toLowerCase() + " \"" + name + "\" not found");
    }

    /** The host directory of a pod volume; configMap and secret volumes are written afresh at every container start. */
    private Path volume(PodProcess pod, String name) throws ContainerConfigException {
        Volume v = pod.spec().getVolumes().stream().filter(x -> x.getName().equals(name)).findFirst()
                .orElseThrow(() -> new ContainerConfigException("volumeMount " + name + " names no volume of the pod"));
        Path podVolume = pod.volume(name);
        if (v.getEmptyDir() != null) return createDirectories(podVolume);
        if (v.getPersistentVolumeClaim() != null) {
            return createDirectories(workDir.resolve("claims").resolve(v.getPersistentVolumeClaim().getClaimName()));
        }
        if (v.getHostPath() != null) return Path.of(v.getHostPath().getPath());
        var cm = v.getConfigMap();
        if (cm != null) return materialize(podVolume, "ConfigMap", cm.getName(), cm.getItems(), cm.getOptional());
        var secret = v.getSecret();
        if (secret != null) return materialize(podVolume, "Secret", secret.getSecretName(), secret.getItems(), secret.getOptional());
        throw new ContainerConfigException("unsupported volume type of volume " + name);
    }

    private Path materialize(Path dir, String kind, String name, List<KeyToPath> items, Boolean optional)
            throws ContainerConfigException {
        Map<String, byte[]> data = source(kind, name, optional);
        Map<String, byte[]> files = new LinkedHashMap<>();
        if (items == null || items.isEmpty()) {
            files.putAll(data);
        } else {
            for (KeyToPath item : items) {
                byte[] v = data.get(item.getKey());
                if (v != null) files.put(item.getPath(), v);
                else if (!Boolean.TRUE.equals(optional)) throw new ContainerConfigException(kind + " " + name + " has no key " + item.getKey());
            }
        }
        try {
            if (Files.exists(dir)) {
                try (Stream<Path> old = Files.walk(dir)) {
                    for (Path p : old.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
                }
            }
            Files.createDirectories(dir);
            for (var f : files.entrySet()) {
                Path file = dir.resolve(f.getKey());
                Files.createDirectories(file.getParent());
                Files.write(file, f.getValue());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return dir;
    }

    /** Maps a mount path, or a path under it, to the host; longest mount path first. */
    static Function<String, String> pathRewriter(Map<String, Path> mounts) {
        List<Map.Entry<String, Path>> byLength = mounts.entrySet().stream()
                .sorted(Comparator.comparingInt((Map.Entry<String, Path> e) -> e.getKey().length()).reversed()).toList();
        return s -> {
            for (var m : byLength) {
                String mp = m.getKey();
                if (s.equals(mp) || s.startsWith(mp.endsWith("/") ? mp : mp + "/")) {
                    return m.getValue() + (mp.endsWith("/") ? "/" : "") + s.substring(mp.length());
                }
            }
            return s;
        };
    }

    /**
     * Kubernetes' {@code $(VAR)} expansion: a defined variable is replaced, an undefined reference is kept as written,
     * {@code $$} is an escaped {@code $}.
     */
    static String expand(String s, Function<String, String> vars) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (ch != '$' || i + 1 == s.length()) {
                out.append(ch);
            } else if (s.charAt(i + 1) == '$') {
                out.append('$');
                i++;
            } else if (s.charAt(i + 1) == '(' && s.indexOf(')', i + 2) > 0) {
                int close = s.indexOf(')', i + 2);
                String name = s.substring(i + 2, close);
                String value = vars.apply(name);
                out.append(value != null ? value : "$(" + name + ")");
                i = close;
            } else {
                out.append(ch);
            }
        }
        return out.toString();
    }

    private static Path createDirectories(Path dir) {
        try {
            return Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
