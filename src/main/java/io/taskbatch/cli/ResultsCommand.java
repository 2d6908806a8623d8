package io.taskbatch.cli;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.http.HttpClient;
import io.fabric8.kubernetes.client.http.HttpResponse;
import io.fabric8.kubernetes.client.utils.URLUtils;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.api.TaskBatchStatus;
import io.taskbatch.cluster.ResultsConfigMapWriter;
import io.taskbatch.operator.BatchLabels;
import io.taskbatch.operator.BatchStatusAggregator;
import io.taskbatch.operator.ResultsReaderPod;
import io.taskbatch.plan.GoDuration;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code taskbatch results NAME}: a batch's results as JSON Lines on stdout, from its results ConfigMap or, for
 * results on a claim, through a short-lived reader pod whose log carries them (see {@link ResultsReaderPod},
 * {@link ResultLines}).
 */
@Command(name = "results", mixinStandardHelpOptions = true,
        description = {"Write a TaskBatch's results to stdout as JSON Lines, one per task, from its",
                "results ConfigMap or, with spec.results.claimName, from the claim: a",
                "short-lived pod (owned by the batch, deleted afterwards) reads the file there",
                "and this command reads the pod's log. A batch not yet decided gives the",
                "results it has so far, and says so on stderr."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:the results there are were written", "1:the reader pod failed or its log lost results",
                "2:invalid arguments, no such batch or a refused request",
                "3:the Kubernetes API could not be reached, or the reader pod did not start within --pod-timeout"})
public class ResultsCommand implements Callable<Integer> {
    /** What the master's ConfigMap writer says when its cap cut the results ({@link ResultsConfigMapWriter}). */
    static final Pattern CAPPED = Pattern.compile("first (\\d+) of (\\d+) results");
    private static final Duration POLL = Duration.ofMillis(250);
    private static final Set<String> STARTED = Set.of("Running", "Succeeded", "Failed");
    private static final Set<String> ENDED = Set.of("Succeeded", "Failed");

    @Parameters(index = "0", paramLabel = "NAME", description = "The batch.")
    String name;

    @Option(names = "--failed", description = "Only the tasks that failed (not those cancelled when a batch stopped).")
    boolean failedOnly;

    @Option(names = "--image", paramLabel = "IMAGE",
            description = "The reader pod's image (default: the image of the batch's master Job).")
    String image;

    @Option(names = "--pod-timeout", paramLabel = "DURATION", defaultValue = "2m",
            description = "How long the reader pod may take to start (default ${DEFAULT-VALUE}).")
    String podTimeout;

    @Mixin
    ClusterOptions cluster = new ClusterOptions();

    @Spec
    CommandSpec spec;

    private PrintWriter out;
    private PrintWriter err;

    @Override
    public Integer call() throws InterruptedException {
        out = spec.commandLine().getOut();
        err = spec.commandLine().getErr();
        Duration timeout;
        try {
            timeout = GoDuration.parse(podTimeout);
        } catch (IllegalArgumentException e) {
            err.println("--pod-timeout: " + e.getMessage());
            return ExitCodes.INVALID;
        }
        ClusterOptions.Cluster c = cluster.connect(err);
        if (c == null) return ExitCodes.INVALID;
        try (c) {
            TaskBatch batch = ClusterCalls.batch(c.client(), c.namespace(), name);
            TaskBatchStatus s = batch.getStatus() == null ? new TaskBatchStatus() : batch.getStatus();
            boolean decided = BatchStatusAggregator.finished(s.getPhase());
            if (!decided) {
                err.println("TaskBatch " + c.namespace() + "/" + name + " is " + Objects.requireNonNullElse(s.getPhase(), "not started")
                        + ": its results are incomplete (" + Objects.requireNonNullElse(s.getDone(), "none") + " done so far)");
            }
            ResultLines lines = new ResultLines(failedOnly, line -> {
                out.print(line);
                out.print('\n');
            });
            int exit = batch.getSpec().getResults().getClaimName() == null
                    ? fromConfigMap(c.client(), batch, decided, lines) : fromClaim(c.client(), batch, lines, timeout);
            out.flush();
            return exit;
        } catch (ClusterCalls.Failed f) {
            out.flush();
            return ClusterCalls.report(f, err);
        }
    }

    private int fromConfigMap(KubernetesClient client, TaskBatch batch, boolean decided, ResultLines lines) {
        String configMap = BatchLabels.resultsConfigMap(batch);
        String namespace = batch.getMetadata().getNamespace();
        ConfigMap cm = ClusterCalls.call(client, () -> client.configMaps().inNamespace(namespace).withName(configMap).get());
        String text = cm == null || cm.getData() == null ? null : cm.getData().get(ResultsConfigMapWriter.KEY);
        if (cm == null) {
            err.println("there is no ConfigMap " + configMap + (decided ? "" : " yet (the operator creates it with the batch's Jobs)"));
            return decided ? ExitCodes.FAILED : ExitCodes.SUCCEEDED;
        }
        if ((text == null || text.isEmpty()) && !decided) {
            err.println("the master fills ConfigMap " + configMap + " when the batch is over; to read results while it runs,"
                    + " set spec.results.claimName");
        }
        if (text != null) text.lines().forEach(lines::offer);
        String where = batch.getStatus() == null ? null : batch.getStatus().getResults();
        Matcher capped = CAPPED.matcher(Objects.requireNonNullElse(where, ""));
        if (capped.find()) {
            err.println("only the first " + capped.group(1) + " of " + capped.group(2) + " results fit in ConfigMap " + configMap
                    + " (its size is capped); the others were not kept. To keep every result, give the batch"
                    + " spec.results.claimName (a PersistentVolumeClaim) and run it again.");
        }
        return ExitCodes.SUCCEEDED;
    }

    private int fromClaim(KubernetesClient client, TaskBatch batch, ResultLines lines, Duration timeout) throws InterruptedException {
        String namespace = batch.getMetadata().getNamespace();
        Container master = null;
        if (image == null) {
            Job job = ClusterCalls.call(client, () -> client.batch().v1().jobs().inNamespace(namespace)
                    .withName(ResultsReaderPod.masterJob(batch)).get());
            master = ResultsReaderPod.masterContainer(job).orElse(null);
            if (master == null) {
                throw new ClusterCalls.Failed(ExitCodes.FAILED, "there is no master Job " + ResultsReaderPod.masterJob(batch)
                        + " to take the reader pod's image from; give it with --image");
            }
        }
        Pod pod = ResultsReaderPod.build(batch, image != null ? image : master.getImage(),
                master == null ? null : master.getImagePullPolicy(), failedOnly);
        String podName = ClusterCalls.call(client, () -> client.pods().inNamespace(namespace).resource(pod).create())
                .getMetadata().getName();
        try {
            Pod started = awaitPhase(client, namespace, podName, STARTED, timeout);
            if (started == null) {
                throw new ClusterCalls.Failed(ExitCodes.UNAVAILABLE, "the reader pod " + podName + " did not start within "
                        + podTimeout + ": " + whyPending(client.pods().inNamespace(namespace).withName(podName).get()));
            }
            ResultLines.ReaderLog log = new ResultLines.ReaderLog(lines, note -> err.println("reader: " + note));
            readLog(client, namespace, podName, true, log);
            if (log.written().isEmpty()) {
                // the stream ended early (a connection cut, a kubelet restarted): the whole log once the reader is done
                awaitPhase(client, namespace, podName, ENDED, null);
                log.again();
                readLog(client, namespace, podName, false, log);
            }
            if (log.written().isEmpty()) {
                throw new ClusterCalls.Failed(ExitCodes.FAILED, "the reader pod " + podName + " ended without writing all"
                        + " results; " + lines.kept() + " were written");
            }
            if (log.written().getAsLong() != lines.kept()) {
                throw new ClusterCalls.Failed(ExitCodes.FAILED, "the reader pod wrote " + log.written().getAsLong()
                        + " results but its log held " + lines.kept() + " (the kubelet rotates container logs, by default at"
                        + " 10 MiB); read " + ResultsReaderPod.resultsFile(batch) + " from claim "
                        + batch.getSpec().getResults().getClaimName() + " with a pod of your own");
            }
            return ExitCodes.SUCCEEDED;
        } finally {
            try {
                client.pods().inNamespace(namespace).withName(podName).delete();
            } catch (KubernetesClientException e) {
                err.println("cannot delete the reader pod " + podName + " (it goes with the TaskBatch): "
                        + ClusterCalls.failed(client, e).getMessage());
            }
        }
    }

    /** The pod once its phase is one of {@code phases}; null when {@code timeout} (null: none) ran out first. */
    private static Pod awaitPhase(KubernetesClient client, String namespace, String pod, Set<String> phases, Duration timeout)
            throws InterruptedException {
        long deadline = timeout == null ? Long.MAX_VALUE : System.nanoTime() + timeout.toNanos();
        while (true) {
            Pod p = ClusterCalls.call(client, () -> client.pods().inNamespace(namespace).withName(pod).get());
            if (p == null) throw new ClusterCalls.Failed(ExitCodes.FAILED, "the reader pod " + pod + " was deleted");
            if (p.getStatus() != null && phases.contains(p.getStatus().getPhase())) return p;
            if (System.nanoTime() - deadline > 0) return null;
            Thread.sleep(POLL.toMillis());
        }
    }

    /** Why a pod has not started, as its status tells: a waiting container's reason, or an unmet condition's. */
    static String whyPending(Pod pod) {
        if (pod == null || pod.getStatus() == null) return "it has no status yet (is a kubelet running it?)";
        var s = pod.getStatus();
        for (var c : s.getContainerStatuses()) {
            if (c.getState() != null && c.getState().getWaiting() != null) {
                var w = c.getState().getWaiting();
                return w.getReason() + (w.getMessage() == null ? "" : ": " + w.getMessage());
            }
        }
        for (var c : s.getConditions()) {
            if ("False".equals(c.getStatus()) && c.getMessage() != null) return c.getType() + ": " + c.getMessage();
        }
        return "phase " + Objects.requireNonNullElse(s.getPhase(), "Pending");
    }

    /**
     * {@code GET .../pods/NAME/log}, line by line into {@code log}; with {@code follow} the stream lasts while the
     * container runs. Sent as a plain request, not through fabric8's log helpers, which first watch the pod (a
     * {@code list} and {@code watch} of pods that a user's Role need not grant).
     */
    private void readLog(KubernetesClient client, String namespace, String pod, boolean follow, ResultLines.ReaderLog log) {
        String url = URLUtils.join(client.getMasterUrl().toString(), "api", "v1", "namespaces", namespace, "pods", pod, "log")
                + (follow ? "?follow=true" : "");
        // a client of its own: no request timeout (a follow stream lasts as long as the reader runs), and a stream
        // that ends badly leaves no broken connection in the pool of the client the other calls go through
        Config config = new ConfigBuilder(client.getConfiguration()).withRequestTimeout(0).build();
        try (KubernetesClient logs = new KubernetesClientBuilder().withConfig(config).build()) {
            HttpClient http = logs.getHttpClient();
            HttpResponse<InputStream> response = http.sendAsync(http.newHttpRequestBuilder().uri(url).build(), InputStream.class).get();
            try (InputStream body = response.body()) {
                if (!response.isSuccessful()) {
                    String text = new String(body.readAllBytes(), StandardCharsets.UTF_8);
                    throw new ClusterCalls.Failed(response.code() >= 500 ? ExitCodes.UNAVAILABLE : ExitCodes.FAILED,
                            "cannot read the log of the reader pod " + pod + ": " + statusMessage(client, text));
                }
                ResultLines.completeLines(body, log::line);
            }
        } catch (ExecutionException | IOException e) {
            throw ClusterCalls.failed(client, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ClusterCalls.Failed(ExitCodes.FAILED, "interrupted while reading the reader pod's log");
        }
    }

    private static String statusMessage(KubernetesClient client, String body) {
        try {
            Status status = client.getKubernetesSerialization().unmarshal(body, Status.class);
            if (status != null && status.getMessage() != null) return status.getMessage();
        } catch (RuntimeException notAStatus) {
            // the body as it is
        }
        return body.strip();
    }
}
