package io.taskbatch.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.NonNamespaceOperation;
import io.fabric8.kubernetes.client.dsl.ScalableResource;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.api.model.batch.v1.JobList;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.awaitility.core.ThrowingRunnable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The kubelet and Job controller stand-in: Jobs of {@code sh -c} scripts on the fabric8 mock API server. */
@EnableKubernetesMockClient(crud = true)
class KubeletTest {

    static KubernetesClient client;
    private static final AtomicInteger NAMESPACES = new AtomicInteger();

    @TempDir
    Path dir;
    private String ns;
    private Kubelet kubelet;

    @BeforeEach
    void startKubelet() {
        ns = "kubelet-" + NAMESPACES.incrementAndGet(); // the mock server is shared by all tests of the class
        kubelet = new Kubelet(client, ns, dir.resolve("no-such.jar"), dir,
                Map.of("KUBERNETES_MASTER", client.getMasterUrl().toString(), "KUBERNETES_NAMESPACE", ns)).start();
    }

    @AfterEach
    void closeKubelet() {
        kubelet.close();
    }

    @Test
    void aWorkQueueJobRunsParallelismPodsAndCompletesWhenAllHaveEnded() throws Exception {
        create("""
                metadata: {name: queue}
                spec:
                  parallelism: 3
                  template:
                    spec:
                      restartPolicy: Never
                      containers:
                      - name: worker
                        image: registry.example/taskbatch:1
                        command: [sh, -c, 'echo "hello from $HOSTNAME"; sleep 1']
                """);
        eventually(() -> assertThat(status("queue").getActive()).isEqualTo(3));
        assertThat(status("queue").getStartTime()).isNotNull();
        eventually(() -> assertThat(condition("queue", "Complete")).isPresent());

        JobStatus status = status("queue");
        assertThat(status.getSucceeded()).isEqualTo(3);
        assertThat(status.getFailed()).isNull();
        assertThat(status.getActive()).isNull();
        assertThat(status.getReady()).isZero();
        assertThat(status.getCompletionTime()).isNotNull();
        assertThat(condition("queue", "Complete").orElseThrow().getReason()).isEqualTo("CompletionsReached");
        List<PodProcess> pods = kubelet.allPods("queue");
        assertThat(pods).hasSize(3).allSatisfy(pod -> {
            assertThat(pod.name()).matches("queue-[a-z0-9]{5}");
            assertThat(pod.phase()).isEqualTo(PodProcess.Phase.SUCCEEDED);
            assertThat(pod.image()).isEqualTo("registry.example/taskbatch:1");
            assertThat(pod.env()).containsEntry("HOSTNAME", pod.name()).containsEntry("TASKBATCH_KUBELET", "1");
            assertThat(Files.readString(kubelet.log(pod))).isEqualTo("hello from " + pod.name() + "\n");
        });
        assertThat(kubelet.pods("queue")).isEmpty();
        // the Pod objects mirrored into the API
        List<Pod> objects = client.pods().inNamespace(ns).withLabel("job-name", "queue").list().getItems();
        assertThat(objects).extracting(p -> p.getStatus().getPhase()).containsExactly("Succeeded", "Succeeded", "Succeeded");
        assertThat(objects).extracting(p -> p.getMetadata().getLabels().get("controller-uid"))
                .containsOnly(jobs().withName("queue").get().getMetadata().getUid());
    }

    @Test
    void onFailureRestartsTheContainerInTheSamePodKeepingItsEmptyDir() throws Exception {
        create("""
                metadata: {name: retry}
                spec:
                  completions: 1
                  template:
                    spec:
                      restartPolicy: OnFailure
                      volumes: [{name: scratch, emptyDir: {}}]
                      containers:
                      - name: main
                        image: x
                        volumeMounts: [{name: scratch, mountPath: /scratch}]
                        command: [sh, -c, 'if [ -e "$1/marker" ]; then echo second; else touch "$1/marker"; echo first; exit 3; fi']
                        args: [sh, /scratch]
                """);
        eventually(() -> assertThat(condition("retry", "Complete")).isPresent());

        assertThat(status("retry").getSucceeded()).isEqualTo(1);
        assertThat(status("retry").getFailed()).isNull(); // container restarts are not failed pods
        PodProcess pod = single(kubelet.allPods("retry"));
        assertThat(pod.restarts()).isEqualTo(1);
        assertThat(Files.readString(kubelet.log(pod))).isEqualTo("first\nsecond\n");
        assertThat(pod.dir().resolve("volumes/scratch/marker")).exists();
        assertThat(pod.command()).containsExactly("sh", "-c", pod.command().get(2), "sh", pod.dir().resolve("volumes/scratch").toString());
    }

    @Test
    void failuresBeyondTheBackoffLimitFailTheJob() {
        create("""
                metadata: {name: doomed}
                spec:
                  backoffLimit: 1
                  template:
                    spec:
                      restartPolicy: Never
                      containers: [{name: main, image: x, command: [sh, -c, 'echo failing; exit 1']}]
                """);
        eventually(() -> assertThat(condition("doomed", "Failed")).isPresent());

        assertThat(condition("doomed", "Failed").orElseThrow().getReason()).isEqualTo("BackoffLimitExceeded");
        assertThat(condition("doomed", "Complete")).isEmpty();
        assertThat(status("doomed").getFailed()).isEqualTo(2);
        assertThat(kubelet.allPods("doomed")).hasSize(2).extracting(PodProcess::phase).containsOnly(PodProcess.Phase.FAILED);
        assertThat(kubelet.pods("doomed")).isEmpty();
    }

    @Test
    void envFromSecretsAndFieldsAndConfigMapVolumesAreResolvedAndMountPathsRewritten() throws Exception {
        client.secrets().inNamespace(ns).resource(new SecretBuilder().withNewMetadata().withName("creds").endMetadata()
                .addToData("password", Base64.getEncoder().encodeToString("s3cret".getBytes(StandardCharsets.UTF_8))).build()).create();
        client.configMaps().inNamespace(ns).resource(new ConfigMapBuilder().withNewMetadata().withName("settings").endMetadata()
                .addToData("greeting", "hello").addToData("other", "not listed in items").build()).create();
        create("""
                metadata: {name: wired}
                spec:
                  template:
                    spec:
                      restartPolicy: Never
                      volumes:
                      - {name: shared, persistentVolumeClaim: {claimName: data}}
                      - {name: cfg, configMap: {name: settings, items: [{key: greeting, path: nested/hello.txt}]}}
                      containers:
                      - name: main
                        image: x
                        env:
                        - {name: X, valueFrom: {secretKeyRef: {name: creds, key: password}}}
                        - {name: GONE, valueFrom: {secretKeyRef: {name: nope, key: k, optional: true}}}
                        - {name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
                        - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
                        - {name: CFG, value: /etc/cfg}
                        - {name: OUT, value: /results}
                        volumeMounts:
                        - {name: shared, mountPath: /data}
                        - {name: shared, mountPath: /results, subPath: run1}
                        - {name: cfg, mountPath: /etc/cfg, readOnly: true}
                        - {name: shared, mountPath: /tmp, subPath: tmp}
                        command: [sh, -c, 'printf %s "$X" > "$OUT/x.txt"; cp "$1" "$2"; printf %s "${GONE-unset}" > "$OUT/gone.txt"']
                        args: [sh, "$(CFG)/nested/hello.txt", /data/copy.txt]
                """);
        eventually(() -> assertThat(condition("wired", "Complete")).isPresent());

        Path claim = dir.resolve("claims/data");
        assertThat(claim.resolve("run1/x.txt")).hasContent("s3cret");
        assertThat(claim.resolve("run1/gone.txt")).hasContent("unset");
        assertThat(claim.resolve("copy.txt")).hasContent("hello");
        PodProcess pod = single(kubelet.allPods("wired"));
        Path cfg = pod.dir().resolve("volumes/cfg");
        assertThat(cfg.resolve("nested/hello.txt")).hasContent("hello");
        assertThat(cfg.resolve("other")).doesNotExist();
        assertThat(pod.command()).endsWith(cfg.resolve("nested/hello.txt").toString(), claim.resolve("copy.txt").toString());
        assertThat(pod.env()).containsEntry("POD", pod.name()).containsEntry("NODE", "kubelet-local")
                .containsEntry("CFG", cfg.toString()).containsEntry("OUT", claim.resolve("run1").toString())
                .doesNotContainKey("GONE")
                .containsEntry("HOME", pod.dir().toString()); // a host value: not rewritten, though under /tmp
    }

    @Test
    void aMissingSecretIsAContainerConfigErrorThatCountsAsAFailure() {
        create("""
                metadata: {name: unconfigured}
                spec:
                  backoffLimit: 0
                  template:
                    spec:
                      restartPolicy: Never
                      containers:
                      - name: main
                        image: x
                        command: [sh, -c, 'echo never runs']
                        env: [{name: X, valueFrom: {secretKeyRef: {name: missing, key: k}}}]
                """);
        eventually(() -> assertThat(condition("unconfigured", "Failed")).isPresent());

        PodProcess pod = single(kubelet.allPods("unconfigured"));
        assertThat(pod.process()).isEmpty();
        assertThat(kubelet.log(pod)).content().contains("kubelet: CreateContainerConfigError: secret \"missing\" not found");
        assertThat(status("unconfigured").getFailed()).isEqualTo(1);
    }

    @Test
    void onlyPodsThatGetAnApiTokenGetTheApiEnv() {
        String script = "echo \"master=${KUBERNETES_MASTER:-none}\"";
        for (String name : List.of("with-api", "without-api")) {
            create("""
                    metadata: {name: %s}
                    spec:
                      template:
                        spec:
                          restartPolicy: Never
                          automountServiceAccountToken: %s
                          containers: [{name: main, image: x, command: [sh, -c, '%s']}]
                    """.formatted(name, name.equals("with-api") ? "null" : "false", script));
        }
        eventually(() -> {
            assertThat(condition("with-api", "Complete")).isPresent();
            assertThat(condition("without-api", "Complete")).isPresent();
        });

        PodProcess with = single(kubelet.allPods("with-api"));
        PodProcess without = single(kubelet.allPods("without-api"));
        assertThat(with.apiAccess()).isTrue();
        assertThat(with.env()).containsEntry("KUBERNETES_NAMESPACE", ns);
        assertThat(kubelet.log(with)).hasContent("master=" + client.getMasterUrl());
        assertThat(without.apiAccess()).isFalse();
        assertThat(without.env()).doesNotContainKeys("KUBERNETES_MASTER", "KUBERNETES_NAMESPACE");
        assertThat(kubelet.log(without)).hasContent("master=none");
    }

    @Test
    void suspendTerminatesThePodsGracefullyResumeStartsNewOnesAndLowerParallelismStopsTheSurplus() throws Exception {
        create("""
                metadata: {name: sleepy}
                spec:
                  parallelism: 2
                  template:
                    spec:
                      restartPolicy: Never
                      terminationGracePeriodSeconds: 3
                      containers:
                      - name: main
                        image: x
                        command: [sh, -c, 'trap "echo got TERM; exit 0" TERM; echo started; sleep 6171 & wait']
                """);
        eventually(() -> assertThat(status("sleepy").getReady()).isEqualTo(2));
        List<PodProcess> first = kubelet.pods("sleepy");

        edit("sleepy", job -> { job.getSpec().setSuspend(true); return job; });
        eventually(() -> {
            assertThat(kubelet.pods("sleepy")).isEmpty();
            assertThat(status("sleepy").getActive()).isNull();
            assertThat(condition("sleepy", "Suspended")).hasValueSatisfying(c -> assertThat(c.getStatus()).isEqualTo("True"));
        });
        assertThat(first).allSatisfy(pod -> {
            assertThat(pod.process().orElseThrow().isAlive()).isFalse();
            assertThat(pod.phase()).isEqualTo(PodProcess.Phase.DELETED);
            assertThat(kubelet.log(pod)).content().contains("got TERM");
        });
        // the kubelet kills a container's process group as the container ends: the kernel may take a moment
        eventually(() -> assertThat(sleepers()).as("the background sleeps died with their containers").isEmpty());
        assertThat(status("sleepy").getSucceeded()).as("deleted pods are not counted").isNull();
        assertThat(status("sleepy").getFailed()).isNull();

        edit("sleepy", job -> { job.getSpec().setSuspend(false); return job; });
        eventually(() -> {
            assertThat(kubelet.pods("sleepy")).hasSize(2).doesNotContainAnyElementsOf(first);
            assertThat(status("sleepy").getActive()).isEqualTo(2);
            assertThat(condition("sleepy", "Suspended")).hasValueSatisfying(c -> assertThat(c.getReason()).isEqualTo("JobResumed"));
        });

        edit("sleepy", job -> { job.getSpec().setParallelism(1); return job; });
        eventually(() -> {
            assertThat(kubelet.pods("sleepy")).hasSize(1);
            assertThat(status("sleepy").getActive()).isEqualTo(1);
        });
        assertThat(status("sleepy").getFailed()).isNull();
        assertThat(status("sleepy").getSucceeded()).isNull();
        assertThat(kubelet.allPods("sleepy")).hasSize(4);
    }

    @Test
    void aKilledPodOfANeverJobFailsAndIsReplacedAndDeletingTheJobStopsItsPods() {
        create("""
                metadata: {name: victim}
                spec:
                  template:
                    spec:
                      restartPolicy: Never
                      containers: [{name: main, image: x, command: [sh, -c, 'sleep 6172']}]
                """);
        eventually(() -> assertThat(status("victim").getReady()).isEqualTo(1));
        PodProcess killed = single(kubelet.pods("victim"));

        kubelet.kill(killed);
        eventually(() -> {
            assertThat(status("victim").getFailed()).isEqualTo(1);
            assertThat(status("victim").getReady()).isEqualTo(1);
        });
        assertThat(killed.phase()).isEqualTo(PodProcess.Phase.FAILED);
        assertThat(killed.process().orElseThrow().exitValue()).isEqualTo(137);
        PodProcess replacement = single(kubelet.pods("victim"));
        assertThat(replacement.name()).isNotEqualTo(killed.name());

        jobs().withName("victim").delete();
        eventually(() -> assertThat(kubelet.pods("victim")).isEmpty());
        assertThat(replacement.process().orElseThrow().isAlive()).isFalse();
        eventually(() -> assertThat(client.pods().inNamespace(ns).withLabel("job-name", "victim").list().getItems()).isEmpty());
    }

    @Test
    void aContainerWithoutCommandRunsTheJarWithThisJava() {
        create("""
                metadata: {name: app}
                spec:
                  backoffLimit: 0
                  template:
                    spec:
                      restartPolicy: Never
                      volumes: [{name: manifest, emptyDir: {}}]
                      containers:
                      - name: main
                        image: taskbatch:dev
                        args: [worker, --manifest, /etc/taskbatch/batch.yaml]
                        volumeMounts: [{name: manifest, mountPath: /etc/taskbatch}]
                """);
        eventually(() -> assertThat(condition("app", "Failed")).isPresent()); // there is no jar

        PodProcess pod = single(kubelet.allPods("app"));
        List<String> expected = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:+UseSerialGC", "-Xmx256m"));
        if (Runtime.version().feature() >= 23) expected.add("--sun-misc-unsafe-memory-access=allow");
        expected.addAll(List.of("-jar", dir.resolve("no-such.jar").toString(),
                "worker", "--manifest", pod.dir().resolve("volumes/manifest/batch.yaml").toString()));
        assertThat(pod.command()).isEqualTo(expected);
        assertThat(kubelet.log(pod)).content().contains("no-such.jar");
    }

    @Test
    void aBarePodRunsOnceItsLogIsServedAndDeletingARunningOneStopsIt() throws Exception {
        client.pods().inNamespace(ns).resource(client.getKubernetesSerialization().unmarshal("""
                apiVersion: v1
                kind: Pod
                metadata: {name: reader}
                spec:
                  restartPolicy: Never
                  volumes: [{name: results, persistentVolumeClaim: {claimName: out, readOnly: true}}]
                  containers:
                  - name: main
                    image: x
                    volumeMounts: [{name: results, mountPath: /mnt/results, readOnly: true}]
                    command: [sh, -c, 'cat "$1"; echo done >&2', sh, /mnt/results/r.txt]
                """, Pod.class)).create();
        Files.createDirectories(dir.resolve("claims/out"));
        Files.writeString(dir.resolve("claims/out/r.txt"), "line 1\nline 2\n");
        eventually(() -> assertThat(podPhase("reader")).isEqualTo("Succeeded"));
        PodProcess reader = single(kubelet.barePods());
        assertThat(reader.jobName()).isNull();
        assertThat(kubelet.containerLog(ns, "reader")).hasValueSatisfying(log ->
                assertThat(log).hasContent("line 1\nline 2\ndone"));
        assertThat(kubelet.containerLog("elsewhere", "reader")).isEmpty();
        assertThat(kubelet.containerLog(ns, "nobody")).isEmpty();
        assertThat(kubelet.allPods("reader")).as("not a Job's pod").isEmpty();

        client.pods().inNamespace(ns).resource(client.getKubernetesSerialization().unmarshal("""
                apiVersion: v1
                kind: Pod
                metadata: {name: sleeper}
                spec:
                  terminationGracePeriodSeconds: 2
                  containers: [{name: main, image: x, command: [sh, -c, 'trap "echo got TERM; exit 0" TERM; sleep 6173 & wait']}]
                """, Pod.class)).create();
        eventually(() -> assertThat(podPhase("sleeper")).isEqualTo("Running"));
        PodProcess sleeper = kubelet.barePods().stream().filter(p -> p.name().equals("sleeper")).findFirst().orElseThrow();
        client.pods().inNamespace(ns).withName("sleeper").delete();
        eventually(() -> assertThat(sleeper.phase()).isEqualTo(PodProcess.Phase.DELETED));
        assertThat(sleeper.process().orElseThrow().isAlive()).isFalse();
        assertThat(kubelet.log(sleeper)).content().contains("got TERM");
    }

    @Test
    void aBarePodWithRestartPolicyAlwaysIsStartedAgainAfterItsContainerEnds() {
        client.pods().inNamespace(ns).resource(client.getKubernetesSerialization().unmarshal("""
                apiVersion: v1
                kind: Pod
                metadata: {name: again}
                spec:
                  containers: [{name: main, image: x, command: [sh, -c, 'echo run']}]
                """, Pod.class)).create();
        eventually(() -> assertThat(single(kubelet.barePods()).restarts()).isGreaterThanOrEqualTo(2));
        client.pods().inNamespace(ns).withName("again").delete();
        eventually(() -> assertThat(single(kubelet.barePods()).live()).isFalse());
    }

    @Test
    void variableReferencesAndMountPathsFollowKubernetes() {
        Map<String, String> vars = Map.of("A", "1");
        assertThat(LaunchResolver.expand("$(A)-$$(A)-$(B)-$A-$(A", vars::get)).isEqualTo("1-$(A)-$(B)-$A-$(A");
        var rewrite = LaunchResolver.pathRewriter(Map.of("/data", Path.of("/host/claim"), "/data/sub", Path.of("/host/sub")));
        assertThat(rewrite.apply("/data")).isEqualTo("/host/claim");
        assertThat(rewrite.apply("/data/x")).isEqualTo("/host/claim/x");
        assertThat(rewrite.apply("/data/sub/x")).isEqualTo("/host/sub/x");
        assertThat(rewrite.apply("/database")).isEqualTo("/database");
        assertThat(rewrite.apply("--dir=/data")).isEqualTo("--dir=/data");
    }

    // ------------------------------------------------------------------ helpers

    private NonNamespaceOperation<Job, JobList, ScalableResource<Job>> jobs() {
        return client.batch().v1().jobs().inNamespace(ns);
    }

    private void create(String yaml) {
        jobs().resource(client.getKubernetesSerialization().unmarshal("apiVersion: batch/v1\nkind: Job\n" + yaml, Job.class)).create();
    }

    private void edit(String job, UnaryOperator<Job> change) {
        jobs().withName(job).edit(change);
    }

    private JobStatus status(String job) {
        JobStatus s = jobs().withName(job).get().getStatus();
        return s == null ? new JobStatus() : s;
    }

    private Optional<JobCondition> condition(String job, String type) {
        return status(job).getConditions().stream().filter(c -> c.getType().equals(type)).findFirst();
    }

    private String podPhase(String pod) {
        Pod p = client.pods().inNamespace(ns).withName(pod).get();
        return p == null || p.getStatus() == null ? null : p.getStatus().getPhase();
    }

    private static PodProcess single(List<PodProcess> pods) {
        assertThat(pods).hasSize(1);
        return pods.get(0);
    }

    private static List<ProcessHandle> sleepers() {
        return ProcessHandle.allProcesses().filter(p -> p.info().commandLine().orElse("").contains("sleep 6171")).toList();
    }

    private static void eventually(ThrowingRunnable assertion) {
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50)).untilAsserted(assertion);
    }
}
