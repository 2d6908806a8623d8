package io.taskbatch.testing;

import static java.util.concurrent.TimeUnit.MILLISECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.api.model.PodStatusBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import io.fabric8.kubernetes.api.model.batch.v1.JobConditionBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobSpec;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatus;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

/**
 * Plays the kubelet and the Job controller for an API server that runs no controllers (the fabric8 mock server in
 * CRUD mode): every pod of every Job in one namespace runs as a local process, and the Job's status is written back
 * as a cluster would.
 *
 * <p>Job controller: pods up to {@code parallelism} (default 1) while not suspended; with {@code completions} unset
 * (a work queue) no new pod once one succeeded, Complete when one succeeded and none is active; with
 * {@code completions} N, Complete at N successes. Failed (BackoffLimitExceeded) when failed pods exceed
 * {@code backoffLimit} (default 6) or, for restartPolicy OnFailure, when the live pods' container restarts reach it;
 * Failed (DeadlineExceeded) after {@code activeDeadlineSeconds}. Surplus pods (parallelism lowered), the pods of a
 * suspended, finished or deleted Job are deleted gracefully and never counted. As in a real cluster, zero
 * {@code active}, {@code succeeded} and {@code failed} are left out of the status ({@code null}).
 *
 * <p>Kubelet: one container per pod, started under {@code setsid} (its own process group) with a clean environment
 * (see {@link LaunchResolver}); OnFailure restarts it in the same pod after {@value #RESTART_BACKOFF_MS} ms, a
 * CreateContainerConfigError (missing Secret, ConfigMap or key) counts as a failure and is retried after
 * {@value #CONFIG_BACKOFF_MS} ms. Deleting a pod sends SIGTERM to the container's main process and SIGKILL to its
 * whole process group after {@code terminationGracePeriodSeconds} (capped at {@value #MAX_GRACE_SECONDS} s); when
 * a container's main process ends, what is left of its group is killed, as with a container's PID namespace.
 *
 * <p>Bare pods (Pod objects in the namespace that no Job here made, e.g. a CLI's reader pod) run the same way, once
 * each as their {@code restartPolicy} says (Never, OnFailure, or Always, the default), with their phase written back;
 * deleting one stops it. A pod's container log is served through {@link #containerLog} ({@link ApiServer.PodLogs}:
 * {@code GET pods/NAME/log}).
 *
 * <p>Pods are mirrored into the API as Pod objects (labels {@code job-name}, {@code controller-uid}, phase and
 * restart count) for looking at; the controller here never reads them back.
 */
public final class Kubelet implements AutoCloseable, ApiServer.PodLogs {

    static final long RESTART_BACKOFF_MS = 200;
    static final long CONFIG_BACKOFF_MS = 1000;
    static final int MAX_GRACE_SECONDS = 10;
    private static final long TICK_MS = 100;
    private static final Duration CLOSE_GRACE = Duration.ofSeconds(5);
    private static final String POD_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"; // Kubernetes' generateName alphabet
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final System.Logger LOG = System.getLogger(Kubelet.class.getName());

    private final KubernetesClient client;
    private final TokenIssuer tokens;
    private final String namespace;
    private final Path workDir;
    private final LaunchResolver resolver;
    private final Map<String, JobRun> runs = new ConcurrentHashMap<>(); // by Job uid: a re-created Job is a new one
    private final Map<String, PodProcess> bare = new ConcurrentHashMap<>(); // by Pod uid
    private final Thread loop;
    private final Thread shutdownHook;
    private volatile boolean closed;
    private String lastWarning;

    /** Mints a pod's API token for its ServiceAccount, as the kubelet's TokenRequest does. */
    @FunctionalInterface
    public interface TokenIssuer {
        /** @throws IllegalArgumentException when there is no such ServiceAccount */
        String token(String namespace, String serviceAccount);
    }

    /** The Job controller's memory of one Job: its pods and what its status reports. */
    private static final class JobRun {
        final String name;
        final String uid;
        final List<PodProcess> pods = new CopyOnWriteArrayList<>();
        final List<JobCondition> conditions = new ArrayList<>();
        int succeeded;
        int failed;
        long notBefore = System.nanoTime(); // no replacement pod before this: backoff after a failed pod
        String startTime;
        String completionTime;
        boolean suspended;
        boolean finished;
        boolean deleted;

        JobRun(Job job) {
            name = job.getMetadata().getName();
            uid = job.getMetadata().getUid();
            JobStatus s = job.getStatus();
            if (s != null) { // adopt what an earlier kubelet recorded
                succeeded = Objects.requireNonNullElse(s.getSucceeded(), 0);
                failed = Objects.requireNonNullElse(s.getFailed(), 0);
                startTime = s.getStartTime();
                completionTime = s.getCompletionTime();
                if (s.getConditions() != null) conditions.addAll(s.getConditions());
                finished = hasCondition("Complete") || hasCondition("Failed");
                suspended = hasCondition("Suspended");
            }
        }

        boolean hasCondition(String type) {
            return conditions.stream().anyMatch(c -> c.getType().equals(type) && "True".equals(c.getStatus()));
        }

        Stream<PodProcess> live() {
            return pods.stream().filter(PodProcess::live);
        }

        List<PodProcess> active() {
            return live().filter(p -> !p.terminating()).toList();
        }
    }

    /**
     * @param jar     our packaged app (target/quarkus-app/quarkus-run.jar): the entrypoint of containers without a command
     * @param workDir where pod directories ({@code pods/<pod>}), claims ({@code claims/<claimName>}) and logs
     *                ({@code logs/<pod>.log}) go
     * @param apiEnv  env given only to pods that get an API token ({@code automountServiceAccountToken} not false),
     *                e.g. KUBERNETES_MASTER, KUBERNETES_TRUST_CERTIFICATES, KUBERNETES_AUTH_TRYKUBECONFIG, KUBERNETES_NAMESPACE
     */
    public Kubelet(KubernetesClient client, String namespace, Path jar, Path workDir, Map<String, String> apiEnv) {
        this(client, null, namespace, jar, workDir, apiEnv);
    }

    /**
     * A kubelet on a cluster with ServiceAccounts ({@link ApiServer}): {@code client} (the admin) plays the Job
     * controller and the kubelet; a pod gets, besides {@code apiEnv}, a token minted by {@code tokens} for its own
     * {@code serviceAccountName} ({@code default} when unset) in {@code KUBERNETES_AUTH_TOKEN} and
     * {@code QUARKUS_KUBERNETES_CLIENT_TOKEN}; a pod whose ServiceAccount does not exist is not created (the Job
     * controller's FailedCreate) and tried again later; the namespace's {@code default} ServiceAccount is created
     * at {@link #start()} when missing, as every real namespace has one.
     */
    public Kubelet(KubernetesClient client, TokenIssuer tokens, String namespace, Path jar, Path workDir, Map<String, String> apiEnv) {
        this.client = client;
        this.tokens = tokens;
        this.namespace = namespace;
        this.workDir = workDir.toAbsolutePath();
        this.resolver = new LaunchResolver(client, tokens, namespace, this.workDir, jar, apiEnv);
        this.loop = new Thread(this::run, "kubelet-" + namespace);
        this.loop.setDaemon(true);
        this.shutdownHook = new Thread(() -> running().forEach(Kubelet::killContainer), "kubelet-shutdown-" + namespace);
    }

    /** Starts reconciling the namespace's Jobs every {@value #TICK_MS} ms on a daemon thread. */
    public Kubelet start() {
        if (tokens != null && client.serviceAccounts().inNamespace(namespace).withName("default").get() == null) {
            client.serviceAccounts().inNamespace(namespace).resource(new ServiceAccountBuilder().withNewMetadata()
                    .withName("default").withNamespace(namespace).endMetadata().build()).create();
        }
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        loop.start();
        return this;
    }

    public String namespace() {
        return namespace;
    }

    /** The live pods of the Job(s) of that name: pending, running, or terminating but not yet ended. */
    public List<PodProcess> pods(String jobName) {
        return allPods(jobName).stream().filter(PodProcess::live).toList();
    }

    /** Every pod the Job(s) of that name ever had, ended ones too, oldest first within a Job. */
    public List<PodProcess> allPods(String jobName) {
        return runs.values().stream().filter(r -> r.name.equals(jobName)).flatMap(r -> r.pods.stream()).toList();
    }

    /** Every bare pod (one no Job made) this kubelet has run or is running. */
    public List<PodProcess> barePods() {
        return List.copyOf(bare.values());
    }

    /**
     * The container log of the pod of that name in this kubelet's namespace, once its container has started (as
     * the API server serves {@code pods/log}); empty for another namespace, an unknown pod, or one still waiting.
     */
    @Override
    public Optional<Path> containerLog(String namespace, String pod) {
        if (!this.namespace.equals(namespace)) return Optional.empty();
        return Stream.concat(runs.values().stream().flatMap(r -> r.pods.stream()), bare.values().stream())
                .filter(p -> p.name().equals(pod) && p.process != null).map(PodProcess::log).reduce((a, b) -> b);
    }

    /** SIGKILL to the pod's container (its whole process group), as the OOM killer would: a container failure. */
    public void kill(PodProcess pod) {
        Process p = pod.process;
        if (p == null) return;
        killContainer(p);
        try {
            p.onExit().get(5, SECONDS);
        } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(pod + " did not die of SIGKILL", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The pod's container log: stdout and stderr, appended across restarts, plus the kubelet's own error lines. */
    public Path log(PodProcess pod) {
        return pod.log();
    }

    /** Stops reconciling, then SIGTERM to every container, SIGKILL to what is left after 5 s. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        loop.interrupt();
        try {
            loop.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException alreadyShuttingDown) {
            // the hook is running or has run
        }
        List<Process> running = running();
        running.forEach(Process::destroy);
        long deadline = System.nanoTime() + CLOSE_GRACE.toNanos();
        for (Process p : running) {
            try {
                p.waitFor(Math.max(0, deadline - System.nanoTime()), java.util.concurrent.TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        running.forEach(Kubelet::killContainer);
        runs.values().forEach(r -> r.live().forEach(p -> p.phase = PodProcess.Phase.DELETED));
        bare.values().stream().filter(PodProcess::live).forEach(p -> p.phase = PodProcess.Phase.DELETED);
    }

    private List<Process> running() {
        return Stream.concat(runs.values().stream().flatMap(r -> r.pods.stream()), bare.values().stream())
                .filter(p -> p.phase == PodProcess.Phase.RUNNING).map(p -> p.process).toList();
    }

    // ------------------------------------------------------------------ the loop

    private void run() {
        while (!closed) {
            try {
                tick();
            } catch (RuntimeException e) {
                warn("listing Jobs", e);
            }
            try {
                MILLISECONDS.sleep(TICK_MS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void tick() {
        Map<String, Job> jobs = new LinkedHashMap<>();
        for (Job job : client.batch().v1().jobs().inNamespace(namespace).list().getItems()) {
            jobs.put(job.getMetadata().getUid(), job);
            runs.computeIfAbsent(job.getMetadata().getUid(), uid -> new JobRun(job));
        }
        for (JobRun run : runs.values()) {
            if (closed) return;
            try {
                run.pods.forEach(pod -> observe(run, pod));
                Job job = jobs.get(run.uid);
                if (job == null) {
                    if (!run.deleted) jobDeleted(run);
                } else {
                    sync(job, run);
                    writeStatus(job, run);
                }
            } catch (RuntimeException e) {
                warn("Job " + run.name, e);
            }
        }
        try {
            syncBarePods();
        } catch (RuntimeException e) {
            warn("bare pods", e);
        }
    }

    /**
     * The kubelet's side for pods no Job of this kubelet made (a user's, a CLI's): each runs as its restartPolicy
     * says, its phase written to its status, and deleting it stops it (SIGTERM, SIGKILL after its grace period).
     */
    private void syncBarePods() {
        Map<String, Pod> inApi = new LinkedHashMap<>();
        for (Pod p : client.pods().inNamespace(namespace).list().getItems()) {
            Map<String, String> labels = p.getMetadata().getLabels();
            if (labels != null && labels.containsKey("controller-uid")) continue; // a Job's pod: the loop above runs it
            inApi.put(p.getMetadata().getUid(), p);
            bare.computeIfAbsent(p.getMetadata().getUid(), uid -> newBarePod(p));
        }
        for (PodProcess pod : bare.values()) {
            if (closed) return;
            observe(null, pod);
            if (!inApi.containsKey(pod.uid)) {
                terminate(pod);
            } else if (pod.phase == PodProcess.Phase.PENDING && !pod.terminating && System.nanoTime() - pod.notBefore >= 0) {
                startContainer(null, pod);
            }
        }
    }

    private PodProcess newBarePod(Pod p) {
        String name = p.getMetadata().getName();
        PodProcess pod = new PodProcess(name, null, null, p.getSpec(), workDir.resolve("pods").resolve(name),
                workDir.resolve("logs").resolve(name + ".log"));
        pod.uid = p.getMetadata().getUid();
        createDirectories(pod.dir());
        createDirectories(pod.log().getParent());
        LOG.log(Level.DEBUG, "{0}: a bare pod", name);
        return pod;
    }

    /** The kubelet's side: notices a container's end, and SIGKILLs a deleted pod whose grace period is over. */
    private void observe(JobRun run, PodProcess pod) {
        Process p = pod.process;
        if (pod.phase != PodProcess.Phase.RUNNING) return;
        if (!p.isAlive()) {
            containerExited(run, pod, p.exitValue());
        } else if (pod.terminating && System.nanoTime() - pod.killAt >= 0) {
            killContainer(p);
        }
    }

    private void containerExited(JobRun run, PodProcess pod, int exitCode) {
        killContainer(pod.process); // the rest of the container dies with its main process
        LOG.log(Level.DEBUG, "{0}: container exited with {1}", pod.name(), exitCode);
        if (pod.terminating) {
            setPhase(pod, PodProcess.Phase.DELETED);
        } else if (exitCode == 0 && run == null && pod.restartsOnSuccess()) {
            pod.restarts++;
            pod.notBefore = System.nanoTime() + MILLISECONDS.toNanos(RESTART_BACKOFF_MS);
            setPhase(pod, PodProcess.Phase.PENDING);
        } else if (exitCode == 0) {
            if (run != null) run.succeeded++;
            setPhase(pod, PodProcess.Phase.SUCCEEDED);
        } else {
            failed(run, pod, RESTART_BACKOFF_MS);
        }
    }

    /**
     * A container failure: OnFailure (or a bare pod's Always) restarts the container in the same pod, Never fails the
     * pod (a Job's is replaced by a new one); {@code run} is null for a bare pod.
     */
    private void failed(JobRun run, PodProcess pod, long backoffMs) {
        long notBefore = System.nanoTime() + MILLISECONDS.toNanos(backoffMs);
        if (pod.restartsOnFailure()) {
            pod.restarts++;
            pod.notBefore = notBefore;
            setPhase(pod, PodProcess.Phase.PENDING);
        } else {
            if (run != null) {
                run.failed++;
                run.notBefore = notBefore;
            }
            setPhase(pod, PodProcess.Phase.FAILED);
        }
    }

    /** The Job controller's side: suspension, success, failure, and how many pods should run. */
    private void sync(Job job, JobRun run) {
        if (run.finished) return;
        JobSpec spec = job.getSpec();
        if (Boolean.TRUE.equals(spec.getSuspend())) {
            if (!run.suspended) {
                run.suspended = true;
                condition(run, "Suspended", "True", "JobSuspended", "Job suspended");
            }
            run.live().forEach(this::terminate);
            return;
        }
        if (run.suspended) { // a resumed Job's deadline counts from now
            run.suspended = false;
            run.startTime = null;
            condition(run, "Suspended", "False", "JobResumed", "Job resumed");
        }
        if (run.startTime == null) run.startTime = now();

        int backoffLimit = Objects.requireNonNullElse(spec.getBackoffLimit(), 6);
        int restarts = run.live().mapToInt(PodProcess::restarts).sum();
        Long deadline = spec.getActiveDeadlineSeconds();
        List<PodProcess> active = run.active();
        Integer completions = spec.getCompletions();
        // Kubernetes' rule: failed pods (Never) exceeding the limit, or container restarts (OnFailure) reaching it
        if (run.failed > backoffLimit || (restarts > 0 && restarts >= backoffLimit)) {
            finish(run, "Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit");
        } else if (deadline != null && Instant.now().isAfter(Instant.parse(run.startTime).plusSeconds(deadline))) {
            finish(run, "Failed", "DeadlineExceeded", "Job was active longer than specified deadline");
        } else if (completions == null ? run.succeeded > 0 && active.isEmpty() : run.succeeded >= completions) {
            run.completionTime = now();
            finish(run, "Complete", "CompletionsReached", "Reached expected number of succeeded pods");
        } else {
            int parallelism = Objects.requireNonNullElse(spec.getParallelism(), 1);
            // a work queue that saw a success leaves running what runs, and starts nothing new
            int want = Math.min(parallelism, completions == null
                    ? (run.succeeded > 0 ? active.size() : parallelism)
                    : Math.max(0, completions - run.succeeded));
            for (int i = active.size() - 1; i >= want; i--) terminate(active.get(i)); // newest first
            for (int n = active.size(); n < want && System.nanoTime() - run.notBefore >= 0; n++) {
                String failed = serviceAccountMissing(job);
                if (failed != null) { // the ServiceAccount admission plugin refuses the pod: FailedCreate, tried again later
                    warn("Job " + run.name + ": FailedCreate", new IllegalStateException(failed));
                    run.notBefore = System.nanoTime() + MILLISECONDS.toNanos(CONFIG_BACKOFF_MS);
                    break;
                }
                run.pods.add(newPod(job, run));
            }
            for (PodProcess pod : run.pods) {
                if (pod.phase == PodProcess.Phase.PENDING && !pod.terminating && System.nanoTime() - pod.notBefore >= 0) {
                    startContainer(run, pod);
                }
            }
        }
    }

    /** Why a pod of this Job cannot be created for want of its ServiceAccount, or null (only with a token issuer). */
    private String serviceAccountMissing(Job job) {
        if (tokens == null) return null;
        String sa = job.getSpec().getTemplate().getSpec().getServiceAccountName();
        if (sa == null || sa.isEmpty()) sa = "default";
        if (client.serviceAccounts().inNamespace(namespace).withName(sa).get() != null) return null;
        return "Error creating: pods \"" + job.getMetadata().getName() + "-\" is forbidden: error looking up service account "
                + namespace + "/" + sa + ": serviceaccount \"" + sa + "\" not found";
    }

    private void finish(JobRun run, String type, String reason, String message) {
        run.finished = true;
        condition(run, type, "True", reason, message);
        run.live().forEach(this::terminate);
    }

    private void jobDeleted(JobRun run) {
        run.deleted = true;
        run.live().forEach(this::terminate);
        // the garbage collector's part: Pod objects owned by the Job go with it
        client.pods().inNamespace(namespace).withLabel("controller-uid", run.uid).delete();
    }

    private static void condition(JobRun run, String type, String status, String reason, String message) {
        String now = now();
        run.conditions.removeIf(c -> c.getType().equals(type));
        run.conditions.add(new JobConditionBuilder().withType(type).withStatus(status).withReason(reason)
                .withMessage(message).withLastProbeTime(now).withLastTransitionTime(now).build());
    }

    private void writeStatus(Job job, JobRun run) {
        List<PodProcess> active = run.active();
        JobStatus status = new JobStatusBuilder()
                .withActive(nullIfZero(active.size()))
                .withReady((int) active.stream().filter(p -> p.phase == PodProcess.Phase.RUNNING).count())
                .withSucceeded(nullIfZero(run.succeeded))
                .withFailed(nullIfZero(run.failed))
                .withStartTime(run.startTime)
                .withCompletionTime(run.completionTime)
                .withConditions(List.copyOf(run.conditions))
                .build();
        // compared with the API's copy, not ours: an operator's PUT of the whole Job replaces (or drops) the status
        if (!json(status).equals(json(job.getStatus()))) {
            putStatus(client.batch().v1().jobs().inNamespace(namespace).resource(job), status);
        }
    }

    /**
     * Replaces an object's status through its status subresource, with a JSON patch: the mock server answers
     * strategic-merge and apply patches with 415, and applies a JSON merge patch by appending to arrays (conditions).
     */
    private <T extends HasMetadata> void putStatus(Resource<T> resource, Object status) {
        resource.subresource("status").patch(PatchContext.of(PatchType.JSON),
                "[{\"op\":\"add\",\"path\":\"/status\",\"value\":" + json(status) + "}]");
    }

    // ------------------------------------------------------------------ pods

    /** Deletes a pod gracefully: SIGTERM to its container now, SIGKILL when its grace period is over. */
    private void terminate(PodProcess pod) {
        if (pod.terminating || !pod.live()) return;
        pod.terminating = true;
        if (pod.phase == PodProcess.Phase.PENDING) { // no container running
            setPhase(pod, PodProcess.Phase.DELETED);
            return;
        }
        long grace = Math.min(Objects.requireNonNullElse(pod.spec().getTerminationGracePeriodSeconds(), 30L), MAX_GRACE_SECONDS);
        pod.killAt = System.nanoTime() + SECONDS.toNanos(grace);
        pod.process.destroy(); // the runtime signals the container's main process only
    }

    private PodProcess newPod(Job job, JobRun run) {
        String prefix = run.name + "-";
        if (prefix.length() > 58) prefix = prefix.substring(0, 58);
        StringBuilder name = new StringBuilder(prefix);
        for (int i = 0; i < 5; i++) name.append(POD_NAME_CHARS.charAt(RANDOM.nextInt(POD_NAME_CHARS.length())));
        PodProcess pod = new PodProcess(name.toString(), run.name, run.uid, job.getSpec().getTemplate().getSpec(),
                workDir.resolve("pods").resolve(name.toString()), workDir.resolve("logs").resolve(name + ".log"));
        createDirectories(pod.dir());
        createDirectories(pod.log().getParent());
        pod.uid = createPodObject(job, pod);
        LOG.log(Level.DEBUG, "{0}: created for Job {1}", pod.name(), run.name);
        return pod;
    }

    private void startContainer(JobRun run, PodProcess pod) {
        try {
            ContainerLaunch launch = resolver.resolve(pod);
            List<String> argv = new ArrayList<>(List.of("setsid")); // its own process group: killed whole, never left behind
            argv.addAll(launch.command());
            ProcessBuilder pb = new ProcessBuilder(argv).directory(launch.workingDir().toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(pod.log().toFile()));
            pb.environment().clear();
            pb.environment().putAll(launch.env());
            pod.launch = launch;
            pod.process = pb.start();
            LOG.log(Level.DEBUG, "{0}: container started, pid {1}: {2}", pod.name(), pod.process.pid(), launch.command());
            setPhase(pod, PodProcess.Phase.RUNNING);
        } catch (ContainerConfigException e) {
            podLog(pod, "CreateContainerConfigError: " + e.getMessage());
            failed(run, pod, CONFIG_BACKOFF_MS);
        } catch (IOException | UncheckedIOException e) {
            podLog(pod, "StartError: " + e.getMessage());
            failed(run, pod, RESTART_BACKOFF_MS);
        }
    }

    private void setPhase(PodProcess pod, PodProcess.Phase phase) {
        pod.phase = phase;
        try {
            if (phase == PodProcess.Phase.DELETED) {
                client.pods().inNamespace(namespace).withName(pod.name()).delete();
            } else {
                Pod stub = new PodBuilder().withNewMetadata().withName(pod.name()).withNamespace(namespace).endMetadata().build();
                putStatus(client.pods().inNamespace(namespace).resource(stub), podStatus(pod));
            }
        } catch (KubernetesClientException e) {
            warn("Pod " + pod.name(), e);
        }
    }

    /** Mirrors the pod into the API, for looking at; returns the uid the API gave it. */
    private String createPodObject(Job job, PodProcess pod) {
        ObjectMeta template = job.getSpec().getTemplate().getMetadata();
        Map<String, String> labels = new LinkedHashMap<>(template == null || template.getLabels() == null ? Map.of() : template.getLabels());
        labels.putAll(Map.of("job-name", pod.jobName(), "controller-uid", pod.jobUid(),
                "batch.kubernetes.io/job-name", pod.jobName(), "batch.kubernetes.io/controller-uid", pod.jobUid()));
        Pod object = new PodBuilder()
                .withNewMetadata().withName(pod.name()).withNamespace(namespace).withLabels(labels)
                .addNewOwnerReference().withApiVersion("batch/v1").withKind("Job").withName(pod.jobName())
                .withUid(pod.jobUid()).withController(true).withBlockOwnerDeletion(true).endOwnerReference()
                .endMetadata()
                .withSpec(new PodSpecBuilder(pod.spec()).withNodeName(LaunchResolver.NODE_NAME).build())
                .withStatus(podStatus(pod))
                .build();
        try {
            return client.pods().inNamespace(namespace).resource(object).create().getMetadata().getUid();
        } catch (KubernetesClientException e) {
            warn("Pod " + pod.name(), e);
            return UUID.randomUUID().toString();
        }
    }

    private static PodStatus podStatus(PodProcess pod) {
        boolean running = pod.phase == PodProcess.Phase.RUNNING;
        // a container waiting to be restarted leaves its pod Running (in CrashLoopBackOff)
        PodProcess.Phase p = pod.phase == PodProcess.Phase.PENDING && pod.restarts > 0 ? PodProcess.Phase.RUNNING : pod.phase;
        String phase = p.name().charAt(0) + p.name().substring(1).toLowerCase(Locale.ROOT);
        return new PodStatusBuilder().withPhase(phase).withHostIP("127.0.0.1").withPodIP("127.0.0.1")
                .addNewContainerStatus().withName(pod.container().getName()).withImage(pod.image())
                .withRestartCount(pod.restarts).withReady(running).withStarted(running).endContainerStatus()
                .build();
    }

    /** SIGKILL to a whole container: its process group (it runs under setsid) and any descendants that left it. */
    private static void killContainer(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        try {
            new ProcessBuilder("kill", "-s", "KILL", "--", "-" + p.pid()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(5, SECONDS);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ------------------------------------------------------------------ helpers

    private void podLog(PodProcess pod, String line) {
        LOG.log(Level.INFO, "{0}: {1}", pod.name(), line);
        try {
            Files.writeString(pod.log(), "kubelet: " + line + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void warn(String what, RuntimeException e) {
        String message = what + ": " + e;
        if (!closed && !message.equals(lastWarning)) LOG.log(Level.WARNING, message); // once, not every tick
        lastWarning = message;
    }

    private String json(Object o) {
        return client.getKubernetesSerialization().asJson(o);
    }

    private static Integer nullIfZero(int n) {
        return n == 0 ? null : n;
    }

    private static String now() {
        return Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    }

    private static void createDirectories(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
