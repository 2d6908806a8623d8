package io.taskbatch.testing;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodSpec;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A pod as the {@link Kubelet} runs it (a Job's, or a bare pod, whose job name and uid are null): one container, (re)started as a local process in the same pod
 * directory. Read-only to callers; the kubelet's loop thread is its only writer.
 */
public final class PodProcess {

    /** The pod phases, plus DELETED: removed by the Job controller (suspend, scale-down, Job finished or deleted). */
    public enum Phase { PENDING, RUNNING, SUCCEEDED, FAILED, DELETED }

    private final String name;
    private final String jobName;
    private final String jobUid;
    private final PodSpec spec;
    private final Path dir;
    private final Path log;

    volatile String uid;
    volatile Phase phase = Phase.PENDING;
    volatile int restarts;
    volatile Process process;
    volatile ContainerLaunch launch;
    /** System.nanoTime() before which the container is not (re)started: restart backoff. */
    volatile long notBefore;
    /** Set once the pod is being deleted: SIGTERM sent, SIGKILL due at {@link #killAt}. */
    volatile boolean terminating;
    volatile long killAt;

    PodProcess(String name, String jobName, String jobUid, PodSpec spec, Path dir, Path log) {
        this.name = name;
        this.jobName = jobName;
        this.jobUid = jobUid;
        this.spec = spec;
        this.dir = dir;
        this.log = log;
        this.notBefore = System.nanoTime();
    }

    public String name() {
        return name;
    }

    public String jobName() {
        return jobName;
    }

    String jobUid() {
        return jobUid;
    }

    /** The pod's uid in the API (or a local one when the Pod object could not be written). */
    public String uid() {
        return uid;
    }

    /** The host directory of the pod's volume {@code name}: an emptyDir lives as long as the pod, across container restarts. */
    public Path volume(String name) {
        return dir.resolve("volumes").resolve(name);
    }

    PodSpec spec() {
        return spec;
    }

    Container container() {
        return spec.getContainers().get(0);
    }

    /** The container's image: recorded, never pulled. */
    public String image() {
        return container().getImage();
    }

    public Phase phase() {
        return phase;
    }

    /** PENDING or RUNNING: the pod exists and its container runs or will be (re)started. */
    public boolean live() {
        Phase p = phase;
        return p == Phase.PENDING || p == Phase.RUNNING;
    }

    /** Being deleted: SIGTERM sent; not counted as active any more. */
    public boolean terminating() {
        return terminating;
    }

    /** OnFailure, or Always (a bare pod's default; a Job's pods may not have it). */
    boolean restartsOnFailure() {
        return !"Never".equals(spec.getRestartPolicy());
    }

    /** Always, or unset: only a bare pod (Kubernetes refuses it in a Job's template). */
    boolean restartsOnSuccess() {
        return spec.getRestartPolicy() == null || "Always".equals(spec.getRestartPolicy());
    }

    /** Container restarts within this pod (restartPolicy OnFailure). */
    public int restarts() {
        return restarts;
    }

    /** The current (or last) container process; empty before the first start. */
    public Optional<Process> process() {
        return Optional.ofNullable(process);
    }

    /** The current (or last) container's pid, or -1 before the first start. */
    public long pid() {
        Process p = process;
        return p == null ? -1 : p.pid();
    }

    /** The argv of the current (or last) container start; empty before the first start. */
    public List<String> command() {
        ContainerLaunch l = launch;
        return l == null ? List.of() : l.command();
    }

    /** The environment of the current (or last) container start; empty before the first start. */
    public Map<String, String> env() {
        ContainerLaunch l = launch;
        return l == null ? Map.of() : l.env();
    }

    /**
     * The host port that stands in for the container port {@code name} (or number) of the current start: pods here
     * share the host's network, so each declared port gets a free one (see {@link LaunchResolver}).
     */
    public Optional<Integer> hostPort(String name) {
        ContainerLaunch l = launch;
        return l == null ? Optional.empty() : Optional.ofNullable(l.hostPorts().get(name));
    }

    /** Whether the pod got an API token, i.e. the kubelet's apiEnv ({@code automountServiceAccountToken} not false). */
    public boolean apiAccess() {
        ContainerLaunch l = launch;
        return l != null && l.apiAccess();
    }

    /** The pod's directory: its working directory, holding its emptyDir, configMap and secret volumes. */
    public Path dir() {
        return dir;
    }

    /** The container's stdout and stderr, appended across restarts. */
    public Path log() {
        return log;
    }

    @Override
    public String toString() {
        return name + "[" + phase + (terminating ? ", terminating" : "") + ", restarts=" + restarts + ", pid=" + pid() + "]";
    }
}
