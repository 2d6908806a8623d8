package io.taskbatch.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.api.TaskBatchStatus;
import io.taskbatch.testing.Authorizer.UserInfo;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The harness API server: authentication, RBAC with the real texts, escalation, and the writes the mock gets wrong. */
class ApiServerTest {
    static ApiServer server;
    static KubernetesClient admin;
    static final AtomicInteger NAMESPACES = new AtomicInteger();
    String ns;

    @BeforeAll
    static void start() {
        server = ApiServer.start();
        admin = server.adminClient();
        admin.apiextensions().v1().customResourceDefinitions().load(MockCluster.CRD.toFile()).create();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @BeforeEach
    void namespace() {
        ns = "t" + NAMESPACES.incrementAndGet();
        admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build()).create();
    }

    void serviceAccount(String name) {
        admin.serviceAccounts().inNamespace(ns).resource(new ServiceAccountBuilder().withNewMetadata().withName(name).endMetadata().build()).create();
    }

    void grant(String account, String group, String resource, String... verbs) {
        String name = account + "-" + resource.replace('/', '-');
        admin.rbac().roles().inNamespace(ns).resource(new RoleBuilder().withNewMetadata().withName(name).endMetadata()
                .addNewRule().withApiGroups(group).withResources(resource).withVerbs(verbs).endRule().build()).createOr(r -> r.update());
        admin.rbac().roleBindings().inNamespace(ns).resource(new RoleBindingBuilder().withNewMetadata().withName(name).endMetadata()
                .withNewRoleRef(Authorizer.RBAC_GROUP, "Role", name).addNewSubject().withKind("ServiceAccount").withName(account)
                .withNamespace(ns).endSubject().build()).createOr(r -> r.update());
    }

    TaskBatch batch(String name) {
        TaskBatch b = admin.getKubernetesSerialization().unmarshal("""
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata: {name: %s}
                spec:
                  tasks: {range: {from: 1, to: 3}}
                  run: {builtin: square}
                """.formatted(name), TaskBatch.class);
        b.getMetadata().setNamespace(ns);
        return admin.resource(b).create();
    }

    @Test
    void podLogsComeFromTheKubeletsLogWithTheApiServersAnswersAndTheirOwnVerb() throws Exception {
        java.nio.file.Path log = java.nio.file.Files.createTempFile("pod", ".log");
        java.nio.file.Files.writeString(log, "first\nsecond\n");
        Map<String, java.nio.file.Path> started = new java.util.concurrent.ConcurrentHashMap<>();
        try (AutoCloseable served = server.servePodLogs((namespace, pod) ->
                java.util.Optional.ofNullable(namespace.equals(ns) ? started.get(pod) : null))) {
            String admins = server.adminToken();
            assertThat(podLog(admins, "p")).isEqualTo("404 pods \"p\" not found");
            admin.pods().inNamespace(ns).resource(new io.fabric8.kubernetes.api.model.PodBuilder().withNewMetadata().withName("p")
                    .endMetadata().withNewSpec().addNewContainer().withName("main").withImage("x").endContainer().endSpec().build()).create();
            assertThat(podLog(admins, "p")).isEqualTo("400 container \"main\" in pod \"p\" is waiting to start: ContainerCreating");
            started.put("p", log);
            assertThat(podLog(admins, "p")).isEqualTo("200 first\nsecond\n");

            serviceAccount("reader");
            String reader = server.token(ns, "reader");
            grant("reader", "", "pods", "get");
            assertThat(podLog(reader, "p")).isEqualTo("403 pods \"p\" is forbidden: User \"system:serviceaccount:" + ns
                    + ":reader\" cannot get resource \"pods/log\" in API group \"\" in the namespace \"" + ns + "\"");
            grant("reader", "", "pods/log", "get");
            assertThat(podLog(reader, "p")).isEqualTo("200 first\nsecond\n");
        }
        assertThat(podLog(server.adminToken(), "p")).as("no source: not started").startsWith("400 ");
        assertThat(server.audit(e -> e.subresource().equals("log") && e.username().endsWith(":reader")))
                .extracting(ApiServer.AuditEvent::verb, ApiServer.AuditEvent::resource, ApiServer.AuditEvent::code)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("get", "pods", 403), org.assertj.core.groups.Tuple.tuple("get", "pods", 200));
    }

    /**
     * A SelfSubjectRulesReview (what JOSDK asks before leader election) answers the caller's rules in the namespace:
     * its Roles there, the cluster-wide ones, the bootstrap ones of every user; not another namespace's; not stored.
     */
    @Test
    void aSelfSubjectRulesReviewListsTheCallersRulesInTheNamespace() {
        serviceAccount("elector");
        admin.rbac().roles().inNamespace(ns).resource(new RoleBuilder().withNewMetadata().withName("lease").endMetadata()
                .addNewRule().withApiGroups("coordination.k8s.io").withResources("leases").withResourceNames("mine")
                .withVerbs("get", "update").endRule().build()).create();
        admin.rbac().roleBindings().inNamespace(ns).resource(new RoleBindingBuilder().withNewMetadata().withName("lease")
                .endMetadata().withNewRoleRef(Authorizer.RBAC_GROUP, "Role", "lease").addNewSubject().withKind("ServiceAccount")
                .withName("elector").withNamespace(ns).endSubject().build()).create();
        KubernetesClient elector = server.clientAs(ns, "elector");
        var review = new io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectRulesReview();
        review.setSpec(new io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectRulesReviewSpec(ns));
        var here = elector.resource(review).create().getStatus();
        assertThat(here.getIncomplete()).isFalse();
        assertThat(here.getResourceRules()).anySatisfy(r -> {
            assertThat(r.getApiGroups()).containsExactly("coordination.k8s.io");
            assertThat(r.getResources()).containsExactly("leases");
            assertThat(r.getResourceNames()).containsExactly("mine");
            assertThat(r.getVerbs()).containsExactly("get", "update");
        }).anySatisfy(r -> assertThat(r.getResources()).contains("selfsubjectrulesreviews"));
        assertThat(here.getNonResourceRules()).anySatisfy(r -> assertThat(r.getNonResourceURLs()).contains("/version"));
        review.getSpec().setNamespace("elsewhere");
        assertThat(elector.resource(review).create().getStatus().getResourceRules())
                .noneMatch(r -> r.getResources().contains("leases"));
        review.getSpec().setNamespace(ns);
        assertThat(admin.resource(review).create().getStatus().getResourceRules()).as("cluster admin")
                .anySatisfy(r -> assertThat(r.getVerbs()).containsExactly("*"));
    }

    /** {@code GET pods/NAME/log?follow=true} as {@code token}: the code and the log, or the Status message. */
    String podLog(String token, String pod) throws Exception {
        var request = java.net.http.HttpRequest.newBuilder(java.net.URI.create(server.url() + "api/v1/namespaces/" + ns + "/pods/"
                + pod + "/log?follow=true")).header("Authorization", "Bearer " + token).build();
        var response = java.net.http.HttpClient.newHttpClient().send(request, java.net.http.HttpResponse.BodyHandlers.ofString());
        String body = response.statusCode() == 200 ? response.body()
                : admin.getKubernetesSerialization().unmarshal(response.body(), io.fabric8.kubernetes.api.model.Status.class).getMessage();
        return response.statusCode() + " " + body;
    }

    @Test
    void aServiceAccountIsRefusedUntilARoleBindingGrantsIt() {
        serviceAccount("bob");
        KubernetesClient bob = server.clientAs(ns, "bob");
        assertThatThrownBy(() -> bob.configMaps().inNamespace(ns).list())
                .isInstanceOfSatisfying(KubernetesClientException.class, e -> {
                    assertThat(e.getCode()).isEqualTo(403);
                    assertThat(e.getStatus().getReason()).isEqualTo("Forbidden");
                    assertThat(e.getStatus().getMessage()).isEqualTo("configmaps is forbidden: User \"system:serviceaccount:" + ns
                            + ":bob\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"" + ns + "\"");
                    assertThat(e.getStatus().getDetails().getKind()).isEqualTo("configmaps");
                });
        assertThatThrownBy(() -> bob.batch().v1().jobs().inAnyNamespace().list()).hasMessageContaining(
                "jobs.batch is forbidden: User \"system:serviceaccount:" + ns + ":bob\" cannot list resource \"jobs\" in API group \"batch\" at the cluster scope");
        grant("bob", "", "configmaps", "list", "create");
        assertThat(bob.configMaps().inNamespace(ns).list().getItems()).isEmpty();
        bob.configMaps().inNamespace(ns).resource(new ConfigMapBuilder().withNewMetadata().withName("c").endMetadata().build()).create();
        assertThatThrownBy(() -> bob.configMaps().inNamespace(ns).withName("c").get()).hasMessageContaining(
                "configmaps \"c\" is forbidden: User \"system:serviceaccount:" + ns + ":bob\" cannot get resource \"configmaps\"");
        assertThat(server.audit(e -> e.username().endsWith(":bob"))).extracting(ApiServer.AuditEvent::verb, ApiServer.AuditEvent::allowed,
                ApiServer.AuditEvent::code).containsExactly(
                org.assertj.core.groups.Tuple.tuple("list", false, 403), org.assertj.core.groups.Tuple.tuple("list", false, 403),
                org.assertj.core.groups.Tuple.tuple("list", true, 200), org.assertj.core.groups.Tuple.tuple("create", true, 201),
                org.assertj.core.groups.Tuple.tuple("get", false, 403));
    }

    @Test
    void tokensAreForExistingServiceAccountsAndUnknownTokensAreUnauthorized() {
        assertThatThrownBy(() -> server.token(ns, "nobody")).hasMessage("serviceaccounts \"nobody\" not found");
        KubernetesClient stranger = server.client("not-a-token", ns);
        assertThatThrownBy(() -> stranger.configMaps().list()).isInstanceOfSatisfying(KubernetesClientException.class,
                e -> assertThat(e.getCode()).isEqualTo(401));
        serviceAccount("gone");
        KubernetesClient gone = server.clientAs(ns, "gone");
        grant("gone", "", "configmaps", "list");
        assertThat(gone.configMaps().list().getItems()).isEmpty();
        admin.serviceAccounts().inNamespace(ns).withName("gone").delete();
        assertThatThrownBy(() -> gone.configMaps().list()).isInstanceOfSatisfying(KubernetesClientException.class,
                e -> assertThat(e.getCode()).as("a bound token dies with its ServiceAccount").isEqualTo(401));
    }

    @Test
    void aWatchIsAuthorizedAsWatch() throws Exception {
        serviceAccount("w");
        grant("w", "", "configmaps", "list");
        KubernetesClient w = server.clientAs(ns, "w");
        Watcher<ConfigMap> ignore = new Watcher<>() {
            @Override
            public void eventReceived(Action action, ConfigMap resource) {
            }

            @Override
            public void onClose(WatcherException cause) {
            }
        };
        // the client reports only the handshake's code; the audit has the API server's message
        assertThatThrownBy(() -> w.configMaps().inNamespace(ns).watch(ignore)).hasMessageContaining("Received 403 on websocket");
        assertThat(server.audit(e -> e.username().endsWith(":w") && !e.allowed())).singleElement().satisfies(e ->
                assertThat(e.reason()).isEqualTo("configmaps is forbidden: User \"system:serviceaccount:" + ns
                        + ":w\" cannot watch resource \"configmaps\" in API group \"\" in the namespace \"" + ns + "\""));
        grant("w", "", "configmaps", "list", "watch");
        try (Watch watch = w.configMaps().inNamespace(ns).watch(ignore)) {
            assertThat(watch).isNotNull();
        }
        assertThat(server.audit(e -> e.username().endsWith(":w") && e.verb().equals("watch")))
                .extracting(ApiServer.AuditEvent::allowed).contains(false, true);
    }

    @Test
    void aStalePutIsAConflictOnTheResourceAndOnItsStatus() {
        TaskBatch stale = batch("b");
        TaskBatch fresh = admin.resource(stale).get();
        fresh.setStatus(new TaskBatchStatus());
        fresh.getStatus().setPhase("Running");
        admin.resource(fresh).updateStatus();
        stale.setStatus(new TaskBatchStatus());
        stale.getStatus().setPhase("Pending");
        assertThatThrownBy(() -> admin.resource(stale).updateStatus()).isInstanceOfSatisfying(KubernetesClientException.class, e -> {
            assertThat(e.getCode()).isEqualTo(409);
            assertThat(e.getStatus().getReason()).isEqualTo("Conflict");
            assertThat(e.getStatus().getMessage()).isEqualTo("Operation cannot be fulfilled on taskbatches.taskbatch.io \"b\": "
                    + "the object has been modified; please apply your changes to the latest version and try again");
        });
        assertThat(admin.resource(stale).get().getStatus().getPhase()).isEqualTo("Running");
        ConfigMap cm = admin.configMaps().inNamespace(ns).resource(new ConfigMapBuilder().withNewMetadata().withName("c").endMetadata()
                .addToData("a", "1").build()).create();
        admin.configMaps().inNamespace(ns).resource(new ConfigMapBuilder(cm).addToData("a", "2").build()).update();
        assertThatThrownBy(() -> admin.configMaps().inNamespace(ns).resource(new ConfigMapBuilder(cm).addToData("a", "3").build()).update())
                .hasMessageContaining("Operation cannot be fulfilled on configmaps \"c\": the object has been modified");
    }

    /** What the fabric8 mock alone does with a merge patch of an array: appends (RFC 7386 replaces). */
    @Test
    void theMockAloneAppendsArraysOfAMergePatch() {
        Map<io.fabric8.mockwebserver.ServerRequest, java.util.Queue<io.fabric8.mockwebserver.ServerResponse>> responses = new HashMap<>();
        KubernetesMockServer mock = new KubernetesMockServer(new Context(), new MockWebServer(), responses, new KubernetesCrudDispatcher(), false);
        mock.init();
        try (KubernetesClient c = mock.createClient()) {
            c.rbac().roles().inNamespace("x").resource(new RoleBuilder().withNewMetadata().withName("r").endMetadata()
                    .addNewRule().withApiGroups("").withResources("pods").withVerbs("get").endRule().build()).create();
            var patched = c.rbac().roles().inNamespace("x").withName("r").patch(PatchContext.of(PatchType.JSON_MERGE),
                    "{\"rules\":[{\"apiGroups\":[\"\"],\"resources\":[\"secrets\"],\"verbs\":[\"list\"]}]}");
            assertThat(patched.getRules()).as("the mock's bug this server fixes").hasSize(2);
        } finally {
            mock.destroy();
        }
    }

    @Test
    void aMergePatchReplacesArraysDeletesNullsAndHonoursAResourceVersionPrecondition() {
        ConfigMap cm = admin.configMaps().inNamespace(ns).resource(new ConfigMapBuilder().withNewMetadata().withName("c")
                .addToLabels("keep", "1").addToLabels("drop", "1").endMetadata().addToData("a", "1").build()).create();
        var role = admin.rbac().roles().inNamespace(ns).resource(new RoleBuilder().withNewMetadata().withName("r").endMetadata()
                .addNewRule().withApiGroups("").withResources("pods").withVerbs("get").endRule().build()).create();
        var patched = admin.rbac().roles().inNamespace(ns).withName("r").patch(PatchContext.of(PatchType.JSON_MERGE),
                "{\"rules\":[{\"apiGroups\":[\"\"],\"resources\":[\"secrets\"],\"verbs\":[\"list\"]}]}");
        assertThat(patched.getRules()).singleElement().satisfies(r -> assertThat(r.getResources()).containsExactly("secrets"));
        assertThat(patched.getMetadata().getResourceVersion()).isNotEqualTo(role.getMetadata().getResourceVersion());

        var c = admin.configMaps().inNamespace(ns).withName("c").patch(PatchContext.of(PatchType.JSON_MERGE),
                "{\"metadata\":{\"labels\":{\"drop\":null,\"new\":\"2\"}},\"data\":{\"b\":\"2\"}}");
        assertThat(c.getMetadata().getLabels()).containsOnly(Map.entry("keep", "1"), Map.entry("new", "2"));
        assertThat(c.getData()).containsOnly(Map.entry("a", "1"), Map.entry("b", "2"));

        String stale = "{\"metadata\":{\"resourceVersion\":\"" + cm.getMetadata().getResourceVersion() + "\"},\"data\":{\"a\":\"9\"}}";
        assertThatThrownBy(() -> admin.configMaps().inNamespace(ns).withName("c").patch(PatchContext.of(PatchType.JSON_MERGE), stale))
                .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(409));
        String current = "{\"metadata\":{\"resourceVersion\":\"" + c.getMetadata().getResourceVersion() + "\"},\"data\":{\"a\":\"9\"}}";
        assertThat(admin.configMaps().inNamespace(ns).withName("c").patch(PatchContext.of(PatchType.JSON_MERGE), current).getData())
                .containsEntry("a", "9");
        assertThatThrownBy(() -> admin.configMaps().inNamespace(ns).withName("none").patch(PatchContext.of(PatchType.JSON_MERGE), "{}"))
                .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(404));
    }

    @Test
    void aStatusMergePatchChangesOnlyTheStatusAndAMainOneNeverTheStatus() {
        batch("s");
        var resource = admin.resources(TaskBatch.class).inNamespace(ns).withName("s");
        resource.subresource("status").patch(PatchContext.of(PatchType.JSON_MERGE), """
                {"spec": {"run": {"builtin": "echo"}}, "status": {"phase": "Running", "conditions": [
                  {"type": "A", "status": "True", "reason": "R", "message": "m", "lastTransitionTime": "2024-01-01T00:00:00Z"},
                  {"type": "B", "status": "True", "reason": "R", "message": "m", "lastTransitionTime": "2024-01-01T00:00:00Z"}]}}
                """);
        TaskBatch after = resource.get();
        assertThat(after.getSpec().getRun().getBuiltin()).as("spec untouched by /status").isEqualTo("square");
        assertThat(after.getStatus().getPhase()).isEqualTo("Running");
        resource.subresource("status").patch(PatchContext.of(PatchType.JSON_MERGE), """
                {"status": {"conditions": [
                  {"type": "C", "status": "True", "reason": "R", "message": "m", "lastTransitionTime": "2024-01-01T00:00:00Z"}]}}
                """);
        assertThat(resource.get().getStatus().getConditions()).extracting(io.fabric8.kubernetes.api.model.Condition::getType)
                .as("arrays replaced, not appended").containsExactly("C");
        resource.patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\": {\"run\": {\"builtin\": \"echo\"}}, \"status\": {\"phase\": \"Failed\"}}");
        TaskBatch main = resource.get();
        assertThat(main.getSpec().getRun().getBuiltin()).isEqualTo("echo");
        assertThat(main.getStatus().getPhase()).as("status ignored on the main resource").isEqualTo("Running");
    }

    @Test
    void rolesThatGrantMoreThanTheWriterHoldsAreRefusedUnlessEscalateOrBind() {
        serviceAccount("op");
        grant("op", Authorizer.RBAC_GROUP, "roles", "create", "update");
        grant("op", "", "configmaps", "get");
        KubernetesClient op = server.clientAs(ns, "op");
        var big = new RoleBuilder().withNewMetadata().withName("big").endMetadata()
                .addNewRule().withApiGroups("").withResources("configmaps").withVerbs("get", "delete").endRule().build();
        assertThatThrownBy(() -> op.rbac().roles().inNamespace(ns).resource(big).create())
                .isInstanceOfSatisfying(KubernetesClientException.class, e -> {
                    assertThat(e.getCode()).isEqualTo(403);
                    assertThat(e.getStatus().getMessage()).isEqualTo("roles.rbac.authorization.k8s.io \"big\" is forbidden: user \"system:serviceaccount:"
                            + ns + ":op\" (groups=[\"system:serviceaccounts\" \"system:serviceaccounts:" + ns + "\" \"system:authenticated\"]) "
                            + "is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"\"], Resources:[\"configmaps\"], Verbs:[\"delete\"]}");
                });
        var small = new RoleBuilder(big).editFirstRule().withVerbs("get").endRule().build();
        op.rbac().roles().inNamespace(ns).resource(small).create();
        grant("op", Authorizer.RBAC_GROUP, "roles", "create", "update", "escalate");
        op.rbac().roles().inNamespace(ns).resource(new RoleBuilder(big).editMetadata().withName("big2").endMetadata().build()).create();

        grant("op", Authorizer.RBAC_GROUP, "rolebindings", "create");
        var bindBig = new RoleBindingBuilder().withNewMetadata().withName("bb").endMetadata().withNewRoleRef(Authorizer.RBAC_GROUP, "Role", "big2")
                .addNewSubject().withKind("ServiceAccount").withName("op").withNamespace(ns).endSubject().build();
        assertThatThrownBy(() -> op.rbac().roleBindings().inNamespace(ns).resource(bindBig).create())
                .hasMessageContaining("rolebindings.rbac.authorization.k8s.io \"bb\" is forbidden: user \"system:serviceaccount:" + ns + ":op\"")
                .hasMessageContaining("{APIGroups:[\"\"], Resources:[\"configmaps\"], Verbs:[\"delete\"]}");
        var bindSmall = new RoleBindingBuilder(bindBig).editMetadata().withName("bs").endMetadata().editRoleRef().withName("big").endRoleRef().build();
        bindSmall.getRoleRef().setName(small.getMetadata().getName());
        op.rbac().roleBindings().inNamespace(ns).resource(bindSmall).create();
        admin.rbac().roles().inNamespace(ns).resource(new RoleBuilder().withNewMetadata().withName("binder").endMetadata().addNewRule()
                .withApiGroups(Authorizer.RBAC_GROUP).withResources("roles").withVerbs("bind").withResourceNames("big2").endRule().build()).create();
        admin.rbac().roleBindings().inNamespace(ns).resource(new RoleBindingBuilder().withNewMetadata().withName("binder").endMetadata()
                .withNewRoleRef(Authorizer.RBAC_GROUP, "Role", "binder").addNewSubject().withKind("ServiceAccount").withName("op")
                .withNamespace(ns).endSubject().build()).create();
        op.rbac().roleBindings().inNamespace(ns).resource(bindBig).create();
    }

    @Test
    void theAuditCanBeCheckedAgainstAPolicyWithOneVerbLess() {
        serviceAccount("m");
        grant("m", "", "configmaps", "get", "list");
        KubernetesClient m = server.clientAs(ns, "m");
        m.configMaps().inNamespace(ns).list();
        var policy = server.policy();
        var refused = server.refusedUnder(policy.withoutVerb("Role", ns, "m-configmaps", "list"));
        assertThat(refused).isNotEmpty().allSatisfy(e -> assertThat(e.verb()).isEqualTo("list"));
        assertThat(server.refusedUnder(policy.withoutVerb("Role", ns, "m-configmaps", "get"))).noneMatch(e -> e.username().endsWith(":m"));
        assertThat(server.audit(e -> e.user() != null && e.user().equals(UserInfo.admin()))).isNotEmpty();
        List<ApiServer.AuditEvent> all = server.audit();
        assertThat(all).allSatisfy(e -> assertThat(e.code()).isPositive());
    }
}
