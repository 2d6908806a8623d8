package io.taskbatch.operator;

import io.taskbatch.metrics.OperatorMetrics;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.api.config.informer.FieldSelector;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.Workflow;
import io.javaoperatorsdk.operator.api.reconciler.dependent.Dependent;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.inbound.SimpleInboundEventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.TransformingItemStore;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.api.TaskBatchStatus;
import io.taskbatch.cluster.ApiErrors;
import io.taskbatch.cluster.OwnedStatusFields;
import io.taskbatch.cluster.ResultsConfigMapWriter;
import io.taskbatch.operator.BatchEvents.Reason;
import io.taskbatch.plan.InvalidManifestException;
import io.taskbatch.queue.amqp.BrokerAddress;
import io.taskbatch.plan.SpecValidator;
import io.taskbatch.master.Round;
import io.taskbatch.plan.Violation;
import io.taskbatch.worker.TaskHandlers;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.stream.Collectors;
import org.jboss.logging.Logger;

/**
 * Reconciles a TaskBatch: observe (validate, read the Jobs and the master's counts), reconcile (the
 * master's identity, the results ConfigMap, the master Job, the worker Job sized to the cluster),
 * then patch the operator's part of the status and record lifecycle events.
 *
 * <p>The owned resources are the declared workflow below, one dependent class each. It runs only
 * for a valid spec ({@code explicitInvocation}): a bad manifest never starts pods.
 */
@Workflow(explicitInvocation = true, dependents = {
        @Dependent(name = TaskBatchReconciler.MASTER_ACCOUNT, type = MasterIdentityDependents.Account.class),
        @Dependent(name = TaskBatchReconciler.MASTER_ROLE, type = MasterIdentityDependents.MasterRole.class),
        @Dependent(name = TaskBatchReconciler.MASTER_BINDING, type = MasterIdentityDependents.Binding.class,
                dependsOn = {TaskBatchReconciler.MASTER_ACCOUNT, TaskBatchReconciler.MASTER_ROLE}),
        @Dependent(name = TaskBatchReconciler.RESULTS, type = ResultsConfigMapDependent.class,
                reconcilePrecondition = ResultsConfigMapDependent.Wanted.class),
        @Dependent(name = TaskBatchReconciler.MASTER_JOB, type = MasterJobDependent.class,
                dependsOn = TaskBatchReconciler.MASTER_BINDING),
        @Dependent(name = TaskBatchReconciler.WORKER_JOB, type = WorkerJobDependent.class,
                reconcilePrecondition = WorkerJobDependent.Wanted.class)})
@ControllerConfiguration(name = TaskBatchReconciler.NAME, generationAwareEventProcessing = false)
public class TaskBatchReconciler implements Reconciler<TaskBatch>, Cleaner<TaskBatch> {
    public static final String NAME = "taskbatch";
    static final String MASTER_ACCOUNT = "master-account";
    static final String MASTER_ROLE = "master-role";
    static final String MASTER_BINDING = "master-binding";
    static final String RESULTS = "results-configmap";
    static final String MASTER_JOB = "master-job";
    static final String WORKER_JOB = "worker-job";
    private static final Logger LOG = Logger.getLogger(TaskBatchReconciler.class);
    private static final String NODES = "nodes";
    private static final String PODS = "pods";
    private static final String REBALANCE = "rebalance";

    private final OperatorConfig config;
    private final TaskHandlers handlers;
    private final KubernetesClient client;
    private final BatchEvents events;
    private final QueueJanitor janitor;
    private final Map<String, String> toldPhase = new ConcurrentHashMap<>();
    /**
     * By batch uid, the worker pod a running auto batch without a worker Job yet would get, as of the batch's resource
     * version: every reconciliation of an auto batch weighs every other one's claim, and building a worker Job for each
     * of them took three quarters of the operator's reconciling CPU with hundreds of batches arriving at once
     * (async-profiler, OperatorScaleBench with auto replicas). Dropped once the Job exists, and with the batch.
     */
    private final Map<String, PlannedPod> plannedPods = new ConcurrentHashMap<>();
    private final OperatorMetrics metrics;
    /** Builds the worker pod spec of a batch whose worker Job does not exist yet, for its requests. */
    private final WorkerJobDependent workerPods;
    /** Wakes the other auto-sized batches when their share changed (one started, finished, needs less). */
    private final SimpleInboundEventSource<TaskBatch> rebalance = new SimpleInboundEventSource<>(REBALANCE);

    @Inject
    public TaskBatchReconciler(OperatorConfig config, TaskHandlers handlers, KubernetesClient client, OperatorMetrics metrics) {
        this.config = config;
        this.handlers = handlers;
        this.client = client;
        this.metrics = metrics;
        this.events = new BatchEvents(client);
        this.janitor = new QueueJanitor(client, config);
        this.workerPods = new WorkerJobDependent(config);
    }

    @Override
    public List<EventSource<?, TaskBatch>> prepareEventSources(EventSourceContext<TaskBatch> context) {
        // capacity changes re-size every batch; heartbeats that change nothing we size by are ignored
        var nodes = InformerEventSourceConfiguration.from(Node.class, TaskBatch.class)
                .withName(NODES)
                .withSecondaryToPrimaryMapper(node -> context.getPrimaryCache().list()
                        .map(ResourceID::fromResource).collect(Collectors.toSet()))
                .withOnUpdateFilter((newNode, oldNode) -> !WorkerSizer.sameCapacity(newNode, oldNode))
                .build();
        // what other pods request: one cluster-wide informer of the pods not finished, each kept with only what sizing
        // reads; a pod bound to or leaving a node re-sizes the running auto batches (their own workers do not)
        var pods = InformerEventSourceConfiguration.from(Pod.class, TaskBatch.class)
                .withName(PODS)
                .withWatchAllNamespaces()
                .withFieldSelector(new FieldSelector(new FieldSelector.Field("status.phase", "Succeeded", true),
                        new FieldSelector.Field("status.phase", "Failed", true)))
                .withItemStore(new TransformingItemStore<>(TaskBatchReconciler::forSizing))
                .withSecondaryToPrimaryMapper(pod -> competingWorker(pod, context) ? Set.of()
                        : context.getPrimaryCache().list(this::competes).map(ResourceID::fromResource)
                        .collect(Collectors.toSet()))
                .withOnAddFilter(TaskBatchReconciler::holdsANode)
                .withOnUpdateFilter((newPod, oldPod) -> holdsANode(newPod) != holdsANode(oldPod))
                .withOnDeleteFilter((pod, unknownState) -> holdsANode(pod))
                .build();
        return List.of(new InformerEventSource<>(nodes, context), new InformerEventSource<>(pods, context), rebalance);
    }

    /** A pod as the pod informer keeps it: its identity, labels, node, phase and what its containers request. */
    static Pod forSizing(Pod pod) {
        var spec = pod.getSpec() == null ? new PodSpec() : pod.getSpec();
        return new PodBuilder()
                .withNewMetadata().withName(pod.getMetadata().getName()).withNamespace(pod.getMetadata().getNamespace())
                .withUid(pod.getMetadata().getUid()).withResourceVersion(pod.getMetadata().getResourceVersion())
                .withLabels(pod.getMetadata().getLabels()).endMetadata()
                .withNewSpec().withNodeName(spec.getNodeName()).withOverhead(spec.getOverhead())
                .withContainers(spec.getContainers() == null ? List.of() : spec.getContainers().stream()
                        .map(c -> new ContainerBuilder().withName(c.getName())
                                .withResources(c.getResources()).build()).toList())
                .withInitContainers(spec.getInitContainers() == null ? List.of() : spec.getInitContainers().stream()
                        .map(c -> new ContainerBuilder().withName(c.getName())
                                .withRestartPolicy(c.getRestartPolicy()).withResources(c.getResources()).build()).toList())
                .endSpec()
                .withNewStatus().withPhase(phase(pod)).endStatus()
                .build();
    }

    /** Bound to a node and not finished: what the scheduler counts against the node. */
    private static boolean holdsANode(Pod pod) {
        return pod.getSpec() != null && pod.getSpec().getNodeName() != null
                && !"Succeeded".equals(phase(pod)) && !"Failed".equals(phase(pod));
    }

    private static String phase(Pod pod) {
        return pod.getStatus() == null ? null : pod.getStatus().getPhase();
    }

    /** A worker pod of a running auto batch: its share is placed anew, so it changes no other batch's. */
    private boolean competingWorker(Pod pod, EventSourceContext<TaskBatch> context) {
        String key = WorkerSizer.workerOf(pod);
        if (key == null) return false;
        return context.getPrimaryCache().get(new ResourceID(key.substring(key.indexOf('/') + 1), pod.getMetadata().getNamespace()))
                .filter(this::competes).isPresent();
    }

    /**
     * A running auto-sized batch, which shares the cluster with the others: valid (the same check that keeps an invalid
     * batch from starting pods), not queued in Kueue, not suspended, cancelled, deleted or finished (a redrive round
     * starting runs again).
     */
    boolean competes(TaskBatch batch) {
        if (batch.getSpec() == null || batch.getMetadata().getDeletionTimestamp() != null) return false;
        try {
            if (!WorkerSizer.isAuto(batch.getSpec().getWorkers())) return false;
        } catch (IllegalArgumentException e) {
            return false; // invalid replicas: Valid=False, no pods
        }
        if (batch.getSpec().isSuspend() || batch.getSpec().isCancel() || validate(batch) != null) return false;
        // Kueue shares a queued batch's quota, not we: its running workers count as other pods' requests
        if (KueueAdmission.queue(batch).isPresent()) return false;
        TaskBatchStatus status = batch.getStatus();
        if (status == null) return true;
        return BatchRounds.starting(batch) || !(BatchStatusAggregator.finished(status.getPhase()) || status.getOutcome() != null);
    }

    @Override
    public UpdateControl<TaskBatch> reconcile(TaskBatch batch, Context<TaskBatch> context) {
        String invalid = validate(batch);
        TaskBatchStatus before = batch.getStatus() == null ? new TaskBatchStatus() : batch.getStatus();
        boolean newRound = BatchRounds.starting(batch);
        boolean finishedBefore = !newRound && (BatchStatusAggregator.finished(before.getPhase()) || before.getOutcome() != null);
        WorkerSizer.Decision sizing = null;
        Job master = null;
        Job workers = null;
        if (invalid == null) {
            Job runningJob = job(context, WORKER_JOB, BatchLabels.workerJob(batch), batch);
            // a worker Job Kueue holds keeps the count it was queued with: Kueue would evict and re-queue it on a change
            if (!finishedBefore && !KueueAdmission.holds(runningJob)) {
                // a round starting: how many tasks run again is not known before its master counted them
                List<WorkerSizer.Claim> others = new ArrayList<>();
                context.getPrimaryCache().list(b -> competes(b) && !b.getMetadata().getUid().equals(batch.getMetadata().getUid()))
                        .forEach(b -> claim(b, context).ifPresent(others::add));
                sizing = WorkerSizer.size(batch.getSpec().getWorkers(), claimOrThrow(batch, context), cluster(context), others);
                context.managedWorkflowAndDependentResourceContext().put(WorkerJobDependent.SIZING, sizing);
            }
            Integer running = runningJob == null ? null : runningJob.getSpec().getParallelism();
            context.managedWorkflowAndDependentResourceContext().reconcileManagedWorkflow();
            if (sizing != null && running != null && running != sizing.replicas() && !batch.getSpec().isSuspend()
                    && !batch.getSpec().isCancel()) {
                events.record(batch, Reason.Resized, "workers " + running + " -> " + sizing.replicas() + ": " + sizing.reason());
            }
            master = job(context, MASTER_JOB, BatchLabels.masterJob(batch), batch);
            workers = job(context, WORKER_JOB, BatchLabels.workerJob(batch), batch);
        }
        TaskBatchStatus after = BatchStatusAggregator.aggregate(
                new BatchStatusAggregator.Observed(batch, invalid, master, workers, Instant.now()));
        recordTransitions(batch, before, after, invalid, sizing);
        // every step before the status write: Reconciled=True is written only when all of them went through
        UpdateControl<TaskBatch> next = invalid != null ? UpdateControl.noUpdate()
                : BatchStatusAggregator.finished(after.getPhase()) ? expireWhenDue(batch, after)
                : UpdateControl.<TaskBatch>noUpdate().rescheduleAfter(config.resyncInterval());
        writeStatus(batch, after);
        rebalanceOthers(batch, context);
        metrics.reconciled(batch.getMetadata().getNamespace(), batch.getMetadata().getName(), true);
        metrics.phase(batch.getMetadata().getUid(), batch.getMetadata().getNamespace(), after.getPhase());
        return next;
    }

    private void writeStatus(TaskBatch batch, TaskBatchStatus status) {
        var fields = OwnedStatusFields.of(status, TaskBatchStatus.OPERATOR_FIELDS);
        if (fields.changeNothingIn(batch.getStatus())) return;
        try {
            fields.writeTo(client, batch.getMetadata().getNamespace(), batch.getMetadata().getName());
        } catch (KubernetesClientException e) {
            if (e.getCode() != 404) throw e; // gone (ttlSecondsAfterFinished, a user's delete): nothing left to tell
        }
    }

    /** Null when valid, else every violation in one message that names the fields. */
    private String validate(TaskBatch batch) {
        try {
            SpecValidator.validate(batch, handlers.names());
        } catch (InvalidManifestException e) {
            return e.violations().stream().map(Violation::toString).collect(Collectors.joining("; "));
        }
        String results = batch.getStatus() == null ? null : batch.getStatus().getResults();
        if (BatchRounds.starting(batch) && results != null && results.contains(ResultsConfigMapWriter.CAPPED)) {
            // the round would run again every task whose result the cap left out, successes included
            return "spec.redrive.round: round " + BatchRounds.current(batch) + " cannot start: the results it would keep were "
                    + "capped (" + results + "); set spec.redrive.round back to " + BatchRounds.told(batch)
                    + ", and give the batch spec.results.claimName to keep every result";
        }
        return null;
    }

    /** The Job {@code name} of the dependent {@code source}: a redriven batch has one of each per round. */
    private static Job job(Context<TaskBatch> context, String source, String name, TaskBatch batch) {
        @SuppressWarnings("unchecked")
        var jobs = (InformerEventSource<Job, TaskBatch>) context.eventSourceRetriever().getEventSourceFor(Job.class, source);
        return jobs.get(new ResourceID(name, batch.getMetadata().getNamespace())).orElse(null);
    }

    private static WorkerSizer.Cluster cluster(Context<TaskBatch> context) {
        @SuppressWarnings("unchecked")
        var nodes = (InformerEventSource<Node, TaskBatch>) context.eventSourceRetriever().getEventSourceFor(Node.class, NODES);
        @SuppressWarnings("unchecked")
        var pods = (InformerEventSource<Pod, TaskBatch>) context.eventSourceRetriever().getEventSourceFor(Pod.class, PODS);
        return new WorkerSizer.Cluster(nodes.list().toList(), pods.list().toList());
    }

    /**
     * A batch's claim on the cluster: its worker pod spec from its running Job (a Job's template never changes), else as
     * the worker Job would be created now, so whatever the spec puts into the pod (requests, extended resources,
     * scheduling) counts.
     */
    private WorkerSizer.Claim claimOrThrow(TaskBatch batch, Context<TaskBatch> context) {
        var workers = batch.getSpec().getWorkers();
        Job running = job(context, WORKER_JOB, BatchLabels.workerJob(batch), batch);
        PodSpec pod = running != null ? running.getSpec().getTemplate().getSpec() : plannedPod(batch, context);
        if (running != null) plannedPods.remove(batch.getMetadata().getUid());
        return WorkerSizer.claim(key(batch), workers, pod,
                BatchRounds.starting(batch) ? OptionalLong.empty() : tasksLeft(batch.getStatus() == null ? new TaskBatchStatus() : batch.getStatus()),
                WorkerJobDependent.slots(workers));
    }

    private record PlannedPod(String resourceVersion, PodSpec pod) {
    }

    /** The worker pod {@code batch} would get now (see {@link #plannedPods}): its spec decides it, the context does not. */
    private PodSpec plannedPod(TaskBatch batch, Context<TaskBatch> context) {
        String uid = batch.getMetadata().getUid();
        String version = batch.getMetadata().getResourceVersion();
        PlannedPod planned = uid == null ? null : plannedPods.get(uid);
        if (planned != null && version != null && version.equals(planned.resourceVersion())) return planned.pod();
        PodSpec pod = workerPods.build(batch, context).getSpec().getTemplate().getSpec();
        if (uid != null && version != null) plannedPods.put(uid, new PlannedPod(version, pod));
        return pod;
    }

    /** A batch's key in the sharing: namespace/name. */
    private static String key(TaskBatch batch) {
        return batch.getMetadata().getNamespace() + "/" + batch.getMetadata().getName();
    }

    /** Another batch's claim; empty when its spec cannot make one (its own reconciliation says why). */
    private Optional<WorkerSizer.Claim> claim(TaskBatch batch, Context<TaskBatch> context) {
        try {
            return Optional.of(claimOrThrow(batch, context));
        } catch (RuntimeException e) {
            LOG.debugf("%s/%s: left out of the sharing: %s", batch.getMetadata().getNamespace(), batch.getMetadata().getName(), e);
            return Optional.empty();
        }
    }

    /**
     * Wakes every other running auto batch whose worker Job does not run its share of the cluster as it stands now:
     * after this batch started, finished, was deleted or needs fewer workers. Every batch computes the same shares from
     * the same caches, so a woken batch sets what this one computed for it, and wakes nobody back.
     */
    private void rebalanceOthers(TaskBatch self, Context<TaskBatch> context) {
        List<TaskBatch> running = context.getPrimaryCache().list(this::competes).toList();
        if (running.stream().noneMatch(b -> !b.getMetadata().getUid().equals(self.getMetadata().getUid()))) return;
        List<WorkerSizer.Claim> claims = new ArrayList<>();
        running.forEach(b -> claim(b, context).ifPresent(claims::add));
        Map<String, Integer> shares = WorkerSizer.share(claims, cluster(context));
        for (TaskBatch other : running) {
            if (other.getMetadata().getUid().equals(self.getMetadata().getUid())) continue;
            Integer share = shares.get(key(other));
            Job job = job(context, WORKER_JOB, BatchLabels.workerJob(other), other);
            if (share != null && job != null && !share.equals(job.getSpec().getParallelism())) {
                LOG.infof("%s/%s: its share is now %d workers, its Job runs %s: re-sizing it", other.getMetadata().getNamespace(),
                        other.getMetadata().getName(), share, job.getSpec().getParallelism());
                rebalance.propagateEvent(ResourceID.fromResource(other));
            }
        }
    }

    private static OptionalLong tasksLeft(TaskBatchStatus status) {
        if (status.getTotal() == null || status.getTotal() < 0) return OptionalLong.empty();
        long done = (status.getSucceeded() == null ? 0 : status.getSucceeded()) + (status.getFailed() == null ? 0 : status.getFailed());
        return OptionalLong.of(Math.max(0, status.getTotal() - done));
    }

    private void recordTransitions(TaskBatch batch, TaskBatchStatus before, TaskBatchStatus after, String invalid,
                                   WorkerSizer.Decision sizing) {
        // the cache may not show our last status write yet: remember what we told, per batch
        String was = toldPhase.getOrDefault(batch.getMetadata().getUid(), before.getPhase());
        String now = after.getPhase();
        toldPhase.put(batch.getMetadata().getUid(), now);
        if (invalid != null) {
            if (!Objects.equals(invalid, before.getMessage())) events.record(batch, Reason.InvalidSpec, invalid);
            return;
        }
        if (Objects.equals(was, now)) return;
        LOG.infof("%s/%s: %s -> %s (%s)", batch.getMetadata().getNamespace(), batch.getMetadata().getName(), was, now,
                after.getMessage());
        if (BatchRounds.starting(batch) && BatchStatusAggregator.finished(was)) {
            var redrive = batch.getSpec().getRedrive();
            events.record(batch, Reason.Redriven, "round " + BatchRounds.current(batch) + ": the "
                    + Round.of(redrive.getRound(), redrive.getSelect()).describe() + " tasks run again; the other results are kept");
            return;
        }
        switch (now) {
            case BatchStatusAggregator.RUNNING -> {
                if (!batch.getSpec().isCancel()) events.record(batch,
                    BatchStatusAggregator.SUSPENDED.equals(was) ? Reason.Resumed : Reason.Started,
                    sizing == null ? after.getMessage() : "workers: " + sizing.reason());
            }
            case BatchStatusAggregator.SUSPENDED -> events.record(batch, Reason.Suspended, after.getMessage());
            case BatchStatusAggregator.SUCCEEDED -> events.record(batch, Reason.Completed, after.getMessage());
            case BatchStatusAggregator.FAILED -> events.record(batch,
                    BatchStatusAggregator.CANCELLED.equals(reasonOf(after)) ? Reason.Cancelled : Reason.Failed, after.getMessage());
            default -> { }
        }
    }

    /** The reason of the status' Failed condition (what the phase came from). */
    private static String reasonOf(TaskBatchStatus status) {
        return status.getConditions() == null ? null : status.getConditions().stream()
                .filter(c -> BatchStatusAggregator.FAILED.equals(c.getType())).map(c -> c.getReason()).findFirst().orElse(null);
    }

    /** Deletes a finished batch once {@code ttlSecondsAfterFinished} has passed since it finished. */
    private UpdateControl<TaskBatch> expireWhenDue(TaskBatch batch, TaskBatchStatus status) {
        Long ttl = batch.getSpec().getTtlSecondsAfterFinished();
        if (ttl == null || status.getCompletionTime() == null) return UpdateControl.noUpdate();
        Duration left = Duration.between(Instant.now(), Instant.parse(status.getCompletionTime()).plusSeconds(ttl));
        if (!left.isNegative() && !left.isZero()) return UpdateControl.<TaskBatch>noUpdate().rescheduleAfter(left.plusSeconds(1));
        if (batch.getMetadata().getDeletionTimestamp() != null) return UpdateControl.noUpdate(); // already on its way
        client.resource(batch).delete();
        events.record(batch, Reason.Expired, "deleted: finished more than " + ttl + " s ago (ttlSecondsAfterFinished)");
        return UpdateControl.noUpdate();
    }

    @Override
    public DeleteControl cleanup(TaskBatch batch, Context<TaskBatch> context) {
        toldPhase.remove(batch.getMetadata().getUid());
        plannedPods.remove(batch.getMetadata().getUid());
        try {
            rebalanceOthers(batch, context); // a deleted batch is no longer one of them: competes() is false for it
        } catch (RuntimeException e) {
            LOG.warnf("%s/%s: cannot re-size the other auto batches: %s", batch.getMetadata().getNamespace(),
                    batch.getMetadata().getName(), e.getMessage());
        }
        metrics.forget(batch.getMetadata().getUid(), batch.getMetadata().getNamespace(), batch.getMetadata().getName());
        if (validate(batch) != null && batch.getStatus() != null && batch.getStatus().getTotal() == null) {
            return DeleteControl.defaultDelete(); // never started: no queues
        }
        try {
            int deleted = janitor.deleteQueues(batch);
            LOG.infof("%s/%s deleted: its %d queues are gone", batch.getMetadata().getNamespace(), batch.getMetadata().getName(), deleted);
            return DeleteControl.defaultDelete();
        } catch (QueueJanitor.NoBroker e) {
            events.record(batch, Reason.QueueCleanupFailed, "cannot delete the batch's queues: " + e.getMessage());
            return DeleteControl.defaultDelete();
        } catch (Exception e) {
            Instant deleted = Instant.parse(batch.getMetadata().getDeletionTimestamp());
            if (Instant.now().isAfter(deleted.plus(config.queueCleanupTimeout()))) {
                events.record(batch, Reason.QueueCleanupFailed, "gave up deleting the batch's queues after "
                        + config.queueCleanupTimeout() + ": " + e);
                return DeleteControl.defaultDelete();
            }
            LOG.warnf("%s/%s: cannot delete its queues on the broker yet (%s); trying again in 5 s, for up to %s",
                    batch.getMetadata().getNamespace(), batch.getMetadata().getName(), BrokerAddress.describe(e),
                    config.queueCleanupTimeout());
            return DeleteControl.noFinalizerRemoval().rescheduleAfter(Duration.ofSeconds(5));
        }
    }

    @Override
    public ErrorStatusUpdateControl<TaskBatch> updateErrorStatus(TaskBatch batch, Context<TaskBatch> context, Exception e) {
        LOG.warnf(e, "%s/%s: reconciliation failed", batch.getMetadata().getNamespace(), batch.getMetadata().getName());
        metrics.reconciled(batch.getMetadata().getNamespace(), batch.getMetadata().getName(), false);
        try {
            // through our own merge patch of the operator's fields: JOSDK's would send the master's fields too
            writeStatus(batch, BatchStatusAggregator.reconcileFailed(batch, describe(e), Instant.now()));
        } catch (RuntimeException statusFailed) {
            LOG.warnf("%s/%s: cannot say so in the status either: %s", batch.getMetadata().getNamespace(),
                    batch.getMetadata().getName(), statusFailed.getMessage());
        }
        return ErrorStatusUpdateControl.noStatusUpdate();
    }

    /** What went wrong in one line: the API server's own message (e.g. a 403) where there is one, else the root cause. */
    static String describe(Throwable e) {
        String text = ApiErrors.describe(e);
        return text.length() > 1000 ? text.substring(0, 1000) + "…" : text;
    }
}
