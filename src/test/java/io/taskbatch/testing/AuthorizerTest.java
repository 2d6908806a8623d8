package io.taskbatch.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBuilder;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.PolicyRuleBuilder;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleRef;
import io.fabric8.kubernetes.api.model.rbac.RoleRefBuilder;
import io.taskbatch.testing.Authorizer.Attributes;
import io.taskbatch.testing.Authorizer.Policy;
import io.taskbatch.testing.Authorizer.UserInfo;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Kubernetes' RBAC rules and messages, on policies built in memory. */
class AuthorizerTest {
    static final UserInfo MASTER = UserInfo.serviceAccount("default", "squares-master");
    static final UserInfo ALICE = UserInfo.user("alice", "devs");

    static PolicyRule rule(String group, String resources, String verbs, String... names) {
        return new PolicyRuleBuilder().withApiGroups(group).withResources(resources.split(","))
                .withVerbs(verbs.split(",")).withResourceNames(names).build();
    }

    static Role role(String ns, String name, PolicyRule... rules) {
        return new RoleBuilder().withNewMetadata().withNamespace(ns).withName(name).endMetadata().withRules(rules).build();
    }

    static ClusterRole clusterRole(String name, PolicyRule... rules) {
        return new ClusterRoleBuilder().withNewMetadata().withName(name).endMetadata().withRules(rules).build();
    }

    static RoleBinding binding(String ns, String name, String roleKind, String roleName, String subjectKind, String subject, String subjectNs) {
        return new RoleBindingBuilder().withNewMetadata().withNamespace(ns).withName(name).endMetadata()
                .withNewRoleRef(Authorizer.RBAC_GROUP, roleKind, roleName)
                .addNewSubject().withKind(subjectKind).withName(subject).withNamespace(subjectNs).endSubject().build();
    }

    static ClusterRoleBinding clusterBinding(String name, String roleName, String subjectKind, String subject, String subjectNs) {
        return new ClusterRoleBindingBuilder().withNewMetadata().withName(name).endMetadata()
                .withNewRoleRef(Authorizer.RBAC_GROUP, "ClusterRole", roleName)
                .addNewSubject().withKind(subjectKind).withName(subject).withNamespace(subjectNs).endSubject().build();
    }

    static Policy policy(List<Role> roles, List<ClusterRole> clusterRoles, List<RoleBinding> bindings, List<ClusterRoleBinding> clusterBindings) {
        return new Policy(roles, clusterRoles, bindings, clusterBindings);
    }

    /** The master's Role as the operator writes it today: its batch, status get and patch, by name. */
    static Policy masterPolicy() {
        return policy(List.of(role("default", "squares-master",
                        rule("taskbatch.io", "taskbatches", "get", "squares"),
                        rule("taskbatch.io", "taskbatches/status", "get,patch", "squares"))), List.of(),
                List.of(binding("default", "squares-master", "Role", "squares-master", "ServiceAccount", "squares-master", "default")),
                List.of());
    }

    static boolean allowed(Policy p, UserInfo u, String method, String uri) {
        return Authorizer.authorize(p, u, Authorizer.attributesOf(method, uri)).allowed();
    }

    @Test
    void requestAttributesAreTheApiServers() {
        assertThat(Authorizer.attributesOf("GET", "/apis/batch/v1/namespaces/ns/jobs?labelSelector=a%3Db"))
                .isEqualTo(new Attributes(true, "list", "batch", "v1", "jobs", "", "ns", "", "/apis/batch/v1/namespaces/ns/jobs"));
        assertThat(Authorizer.attributesOf("GET", "/apis/batch/v1/jobs?watch=true&allowWatchBookmarks=true").verb()).isEqualTo("watch");
        assertThat(Authorizer.attributesOf("GET", "/api/v1/namespaces/ns/pods?watch=1").verb()).isEqualTo("watch");
        assertThat(Authorizer.attributesOf("GET", "/api/v1/namespaces/ns/pods?watch=false").verb()).isEqualTo("list");
        assertThat(Authorizer.attributesOf("GET", "/api/v1/watch/namespaces/ns/pods").verb()).isEqualTo("watch");
        Attributes byField = Authorizer.attributesOf("GET", "/api/v1/namespaces/ns/configmaps?fieldSelector=metadata.name%3Dcm&watch=true");
        assertThat(byField.verb()).isEqualTo("watch");
        assertThat(byField.name()).isEqualTo("cm");
        Attributes status = Authorizer.attributesOf("PUT", "/apis/taskbatch.io/v1alpha1/namespaces/ns/taskbatches/b/status");
        assertThat(status).isEqualTo(new Attributes(true, "update", "taskbatch.io", "v1alpha1", "taskbatches", "status", "ns", "b",
                "/apis/taskbatch.io/v1alpha1/namespaces/ns/taskbatches/b/status"));
        assertThat(Authorizer.attributesOf("POST", "/api/v1/namespaces/ns/events").verb()).isEqualTo("create");
        assertThat(Authorizer.attributesOf("PATCH", "/api/v1/namespaces/ns/configmaps/x").verb()).isEqualTo("patch");
        assertThat(Authorizer.attributesOf("DELETE", "/api/v1/namespaces/ns/configmaps/x").verb()).isEqualTo("delete");
        assertThat(Authorizer.attributesOf("DELETE", "/api/v1/namespaces/ns/configmaps").verb()).isEqualTo("deletecollection");
        Attributes namespace = Authorizer.attributesOf("GET", "/api/v1/namespaces/ns");
        assertThat(List.of(namespace.resource(), namespace.name(), namespace.namespace(), namespace.verb()))
                .containsExactly("namespaces", "ns", "ns", "get");
        Attributes nsStatus = Authorizer.attributesOf("PUT", "/api/v1/namespaces/ns/status");
        assertThat(List.of(nsStatus.resource(), nsStatus.name(), nsStatus.subresource())).containsExactly("namespaces", "ns", "status");
        assertThat(Authorizer.attributesOf("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/x.y").namespace()).isEmpty();
        for (String discovery : List.of("/api", "/api/v1", "/apis", "/apis/batch", "/apis/batch/v1", "/version", "/openapi/v2")) {
            assertThat(Authorizer.attributesOf("GET", discovery).resourceRequest()).as(discovery).isFalse();
        }
    }

    @Test
    void aRuleMatchesVerbGroupResourceAndName() {
        Policy p = masterPolicy();
        assertThat(allowed(p, MASTER, "GET", "/apis/taskbatch.io/v1alpha1/namespaces/default/taskbatches/squares")).isTrue();
        assertThat(allowed(p, MASTER, "GET", "/apis/taskbatch.io/v1alpha1/namespaces/default/taskbatches/other")).isFalse();
        assertThat(allowed(p, MASTER, "PATCH", "/apis/taskbatch.io/v1alpha1/namespaces/default/taskbatches/squares/status")).isTrue();
        assertThat(allowed(p, MASTER, "PUT", "/apis/taskbatch.io/v1alpha1/namespaces/default/taskbatches/squares/status")).isFalse();
        assertThat(allowed(p, MASTER, "PATCH", "/apis/taskbatch.io/v1alpha1/namespaces/default/taskbatches/squares"))
                .as("status patch is not a patch of the resource").isFalse();
        assertThat(allowed(p, MASTER, "GET", "/apis/other.io/v1alpha1/namespaces/default/taskbatches/squares")).isFalse();
        assertThat(allowed(p, MASTER, "GET", "/apis/taskbatch.io/v1alpha1/namespaces/elsewhere/taskbatches/squares"))
                .as("a Role grants in its namespace only").isFalse();
    }

    @Test
    void resourceNamesNeverMatchRequestsWithoutAName() {
        Policy p = policy(List.of(role("ns", "r", rule("", "configmaps", "get,list,watch,create,delete,deletecollection", "cm"))),
                List.of(), List.of(binding("ns", "b", "Role", "r", "User", "alice", null)), List.of());
        assertThat(allowed(p, ALICE, "GET", "/api/v1/namespaces/ns/configmaps/cm")).isTrue();
        assertThat(allowed(p, ALICE, "DELETE", "/api/v1/namespaces/ns/configmaps/cm")).isTrue();
        assertThat(allowed(p, ALICE, "GET", "/api/v1/namespaces/ns/configmaps")).as("list").isFalse();
        assertThat(allowed(p, ALICE, "GET", "/api/v1/namespaces/ns/configmaps?watch=true")).as("watch").isFalse();
        assertThat(allowed(p, ALICE, "POST", "/api/v1/namespaces/ns/configmaps")).as("create").isFalse();
        assertThat(allowed(p, ALICE, "DELETE", "/api/v1/namespaces/ns/configmaps")).as("deletecollection").isFalse();
        assertThat(allowed(p, ALICE, "GET", "/api/v1/namespaces/ns/configmaps?watch=true&fieldSelector=metadata.name%3Dcm"))
                .as("a watch of one object by field selector carries its name").isTrue();
    }

    @Test
    void aRoleBindingToAClusterRoleGrantsOnlyInItsNamespace() {
        Policy p = policy(List.of(), List.of(clusterRole("reader", rule("batch", "jobs", "get,list,watch"))),
                List.of(binding("team", "read", "ClusterRole", "reader", "User", "alice", null)), List.of());
        assertThat(allowed(p, ALICE, "GET", "/apis/batch/v1/namespaces/team/jobs")).isTrue();
        assertThat(allowed(p, ALICE, "GET", "/apis/batch/v1/namespaces/other/jobs")).isFalse();
        assertThat(allowed(p, ALICE, "GET", "/apis/batch/v1/jobs")).as("cluster scope").isFalse();
        Policy cluster = policy(List.of(), p.clusterRoles(), List.of(), List.of(clusterBinding("read", "reader", "User", "alice", null)));
        assertThat(allowed(cluster, ALICE, "GET", "/apis/batch/v1/jobs")).isTrue();
        assertThat(allowed(cluster, ALICE, "GET", "/apis/batch/v1/namespaces/other/jobs")).isTrue();
    }

    @Test
    void groupAndServiceAccountSubjects() {
        ClusterRole reader = clusterRole("reader", rule("", "pods", "get"));
        String uri = "/api/v1/namespaces/team/pods/p";
        Policy byGroup = policy(List.of(), List.of(reader), List.of(binding("team", "b", "ClusterRole", "reader", "Group", "devs", null)), List.of());
        assertThat(allowed(byGroup, ALICE, "GET", uri)).isTrue();
        assertThat(allowed(byGroup, UserInfo.user("bob"), "GET", uri)).isFalse();
        Policy allSas = policy(List.of(), List.of(reader),
                List.of(binding("team", "b", "ClusterRole", "reader", "Group", "system:serviceaccounts:team", null)), List.of());
        assertThat(allowed(allSas, UserInfo.serviceAccount("team", "any"), "GET", uri)).isTrue();
        assertThat(allowed(allSas, UserInfo.serviceAccount("other", "any"), "GET", uri)).isFalse();
        // a ServiceAccount subject without a namespace means the binding's own
        Policy sa = policy(List.of(), List.of(reader), List.of(binding("team", "b", "ClusterRole", "reader", "ServiceAccount", "w", null)), List.of());
        assertThat(allowed(sa, UserInfo.serviceAccount("team", "w"), "GET", uri)).isTrue();
        assertThat(allowed(sa, UserInfo.serviceAccount("other", "w"), "GET", uri)).isFalse();
        assertThat(allowed(sa, UserInfo.user("system:serviceaccount:team:w2"), "GET", uri)).isFalse();
        Policy foreignSa = policy(List.of(), List.of(reader),
                List.of(binding("team", "b", "ClusterRole", "reader", "ServiceAccount", "w", "other")), List.of());
        assertThat(allowed(foreignSa, UserInfo.serviceAccount("other", "w"), "GET", uri)).isTrue();
    }

    @Test
    void subresourcesAndWildcards() {
        UserInfo u = ALICE;
        String status = "/apis/taskbatch.io/v1alpha1/namespaces/ns/taskbatches/b/status";
        String main = "/apis/taskbatch.io/v1alpha1/namespaces/ns/taskbatches/b";
        java.util.function.Function<PolicyRule, Policy> with = r -> policy(List.of(role("ns", "r", r)), List.of(),
                List.of(binding("ns", "b", "Role", "r", "User", "alice", null)), List.of());
        Policy plain = with.apply(rule("taskbatch.io", "taskbatches", "update"));
        assertThat(allowed(plain, u, "PUT", main)).isTrue();
        assertThat(allowed(plain, u, "PUT", status)).isFalse();
        Policy anyStatus = with.apply(rule("taskbatch.io", "*/status", "update"));
        assertThat(allowed(anyStatus, u, "PUT", status)).isTrue();
        assertThat(allowed(anyStatus, u, "PUT", main)).isFalse();
        assertThat(allowed(anyStatus, u, "PUT", "/apis/taskbatch.io/v1alpha1/namespaces/ns/taskbatches/b/scale")).isFalse();
        Policy star = with.apply(rule("*", "*", "*"));
        assertThat(allowed(star, u, "PUT", status)).isTrue();
        assertThat(allowed(star, u, "DELETE", "/apis/batch/v1/namespaces/ns/jobs")).isTrue();
        assertThat(allowed(star, u, "GET", "/api/v1/nodes")).as("a Role never grants at the cluster scope").isFalse();
    }

    @Test
    void mastersBypassAndDiscoveryIsOpenToAuthenticatedUsers() {
        Policy empty = Policy.empty();
        assertThat(allowed(empty, UserInfo.admin(), "DELETE", "/api/v1/namespaces/x")).isTrue();
        for (String path : List.of("/api", "/api/v1", "/apis", "/apis/batch/v1", "/version", "/openapi/v2", "/healthz")) {
            assertThat(allowed(empty, ALICE, "GET", path)).as(path).isTrue();
        }
        assertThat(allowed(empty, ALICE, "GET", "/metrics")).isFalse();
        assertThat(allowed(empty, ALICE, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews")).isTrue();
    }

    @Test
    void forbiddenMessagesAreTheApiServers() {
        Policy p = masterPolicy();
        Attributes put = Authorizer.attributesOf("PUT", "/apis/taskbatch.io/v1alpha1/namespaces/default/taskbatches/squares/status");
        assertThat(Authorizer.authorize(p, MASTER, put).allowed()).isFalse();
        assertThat(Authorizer.forbiddenStatusMessage(MASTER, put, "")).isEqualTo(
                "taskbatches.taskbatch.io \"squares\" is forbidden: User \"system:serviceaccount:default:squares-master\" "
                        + "cannot update resource \"taskbatches/status\" in API group \"taskbatch.io\" in the namespace \"default\"");
        assertThat(Authorizer.forbiddenStatusMessage(UserInfo.user("x"), Authorizer.attributesOf("GET", "/apis/batch/v1/jobs"), ""))
                .isEqualTo("jobs.batch is forbidden: User \"x\" cannot list resource \"jobs\" in API group \"batch\" at the cluster scope");
        assertThat(Authorizer.forbiddenStatusMessage(UserInfo.user("x"), Authorizer.attributesOf("GET", "/api/v1/namespaces/n/configmaps/c"), ""))
                .isEqualTo("configmaps \"c\" is forbidden: User \"x\" cannot get resource \"configmaps\" in API group \"\" in the namespace \"n\"");
        assertThat(Authorizer.forbiddenStatusMessage(UserInfo.user("x"), Authorizer.attributesOf("GET", "/metrics"), ""))
                .isEqualTo("forbidden: User \"x\" cannot get path \"/metrics\"");
    }

    @Test
    void aBindingToAMissingRoleIsReportedAsTheRbacReason() {
        Policy p = policy(List.of(), List.of(), List.of(binding("ns", "b", "Role", "gone", "User", "alice", null)), List.of());
        Attributes a = Authorizer.attributesOf("GET", "/api/v1/namespaces/ns/pods");
        var d = Authorizer.authorize(p, ALICE, a);
        assertThat(d.allowed()).isFalse();
        assertThat(d.reason()).isEqualTo("RBAC: role.rbac.authorization.k8s.io \"gone\" not found");
        assertThat(Authorizer.forbiddenStatusMessage(ALICE, a, d.reason())).isEqualTo("pods is forbidden: User \"alice\" cannot list "
                + "resource \"pods\" in API group \"\" in the namespace \"ns\": RBAC: role.rbac.authorization.k8s.io \"gone\" not found");
    }

    @Test
    void aggregatedClusterRolesGetTheRulesTheySelect() {
        ClusterRole part = new ClusterRoleBuilder().withNewMetadata().withName("tb-view").addToLabels("agg/view", "true").endMetadata()
                .withRules(rule("taskbatch.io", "taskbatches", "get,list")).build();
        ClusterRole view = new ClusterRoleBuilder().withNewMetadata().withName("view").endMetadata()
                .withNewAggregationRule().addNewClusterRoleSelector().addToMatchLabels("agg/view", "true").endClusterRoleSelector()
                .endAggregationRule().build();
        Policy p = policy(List.of(), List.of(part, view), List.of(), List.of(clusterBinding("v", "view", "User", "alice", null)));
        assertThat(allowed(p, ALICE, "GET", "/apis/taskbatch.io/v1alpha1/taskbatches")).isTrue();
        assertThat(allowed(p, ALICE, "DELETE", "/apis/taskbatch.io/v1alpha1/namespaces/n/taskbatches/x")).isFalse();
    }

    @Test
    void grantingWhatOneDoesNotHoldIsAnEscalation() {
        UserInfo op = UserInfo.serviceAccount("sys", "op");
        Policy p = policy(List.of(), List.of(clusterRole("op", rule("taskbatch.io", "taskbatches", "get,list"),
                        rule("rbac.authorization.k8s.io", "roles,rolebindings", "create"))), List.of(),
                List.of(clusterBinding("op", "op", "ServiceAccount", "op", "sys")));
        List<PolicyRule> held = List.of(rule("taskbatch.io", "taskbatches", "get", "b"));
        assertThat(Authorizer.confirmNoEscalation(p, op, "ns", held)).isEmpty();
        List<PolicyRule> more = List.of(rule("taskbatch.io", "taskbatches", "get,delete,update"), rule("", "configmaps", "get", "cm"));
        assertThat(Authorizer.confirmNoEscalation(p, op, "ns", more)).hasValue(
                "user \"system:serviceaccount:sys:op\" (groups=[\"system:serviceaccounts\" \"system:serviceaccounts:sys\" "
                        + "\"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n"
                        + "{APIGroups:[\"\"], Resources:[\"configmaps\"], ResourceNames:[\"cm\"], Verbs:[\"get\"]}\n"
                        + "{APIGroups:[\"taskbatch.io\"], Resources:[\"taskbatches\"], Verbs:[\"delete\" \"update\"]}");
        // escalate on roles lets one write any rules into a Role; bind on a role lets one bind it
        Attributes createRole = Authorizer.attributesOf("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/ns/roles");
        assertThat(Authorizer.escalationAuthorized(p, op, createRole)).isFalse();
        RoleRef ref = new RoleRefBuilder().withApiGroup(Authorizer.RBAC_GROUP).withKind("Role").withName("big").build();
        assertThat(Authorizer.bindingAuthorized(p, op, ref, "ns")).isFalse();
        Policy escalate = policy(p.roles(), p.clusterRoles(), List.of(
                binding("ns", "esc", "ClusterRole", "escalator", "ServiceAccount", "op", "sys")), p.clusterRoleBindings());
        escalate = new Policy(escalate.roles(), concat(p.clusterRoles(), clusterRole("escalator",
                rule("rbac.authorization.k8s.io", "roles", "escalate,bind"))), escalate.roleBindings(), escalate.clusterRoleBindings());
        assertThat(Authorizer.escalationAuthorized(escalate, op, createRole)).isTrue();
        assertThat(Authorizer.bindingAuthorized(escalate, op, ref, "ns")).isTrue();
        assertThat(Authorizer.bindingAuthorized(escalate, op, ref, "elsewhere")).as("bind in the binding's namespace only").isFalse();
        assertThat(Authorizer.escalationAuthorized(escalate, op,
                Authorizer.attributesOf("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles"))).isFalse();
    }

    @Test
    void aRoleOfOnesOwnNamespaceCountsForEscalationOnlyThere() {
        UserInfo op = UserInfo.serviceAccount("sys", "op");
        Policy p = policy(List.of(role("ns", "local", rule("", "secrets", "get"))), List.of(),
                List.of(binding("ns", "local", "Role", "local", "ServiceAccount", "op", "sys")), List.of());
        assertThat(Authorizer.confirmNoEscalation(p, op, "ns", List.of(rule("", "secrets", "get")))).isEmpty();
        assertThat(Authorizer.confirmNoEscalation(p, op, "other", List.of(rule("", "secrets", "get")))).isPresent();
        assertThat(Authorizer.confirmNoEscalation(p, op, "", List.of(rule("", "secrets", "get")))).as("a ClusterRole").isPresent();
    }

    @Test
    void aPolicyWithoutOneVerbRefusesWhatNeededIt() {
        Policy p = masterPolicy();
        Attributes patch = Authorizer.attributesOf("PATCH", "/apis/taskbatch.io/v1alpha1/namespaces/default/taskbatches/squares/status");
        assertThat(Authorizer.authorize(p, MASTER, patch).allowed()).isTrue();
        Policy less = p.withoutVerb("Role", "default", "squares-master", "patch");
        assertThat(Authorizer.authorize(less, MASTER, patch).allowed()).isFalse();
        assertThat(Authorizer.authorize(p.withoutVerb("Role", "default", "squares-master", 0, "get"), MASTER,
                Authorizer.attributesOf("GET", "/apis/taskbatch.io/v1alpha1/namespaces/default/taskbatches/squares")).allowed()).isFalse();
        assertThat(Authorizer.authorize(p.withoutVerb("Role", "default", "squares-master", 0, "get"), MASTER, patch).allowed()).isTrue();
        assertThatThrownBy(() -> p.withoutVerb("Role", "default", "nope", "get")).isInstanceOf(IllegalArgumentException.class);
    }

    static <T> List<T> concat(List<T> list, T more) {
        List<T> out = new ArrayList<>(list);
        out.add(more);
        return out;
    }
}
