package io.taskbatch.testing;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A real RabbitMQ cluster of private {@link RabbitNode}s on loopback: each its own ports, name and data directory,
 * all one Erlang cookie and one epmd; the second and later nodes {@code join_cluster} the first. Quorum queues
 * declared on it get one replica per node (their default initial group size is the cluster's size), so killing one
 * node loses no message and leaves a majority to elect new leaders.
 *
 * <pre>{@code
 * try (RabbitCluster cluster = RabbitCluster.start(3)) {
 *     BrokerAddress.of(cluster.amqpUri()) ... cluster.node(1).kill() ...
 * }
 * }</pre>
 */
public final class RabbitCluster implements AutoCloseable {
    private final List<RabbitNode> nodes;

    private RabbitCluster(List<RabbitNode> nodes) {
        this.nodes = nodes;
    }

    /** Starts {@code size} nodes and clusters them; returns once every node runs and knows the others. */
    public static RabbitCluster start(int size) {
        String cookie = RabbitNode.randomString(32, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
        int epmdPort = RabbitNode.freePorts(1)[0];
        List<RabbitNode> nodes = new ArrayList<>();
        try {
            RabbitNode.Builder builder = RabbitNode.builder().clusterMember(cookie, epmdPort)
                    .config("collect_statistics_interval", "500");
            for (int i = 0; i < size; i++) nodes.add(builder.start());
            RabbitNode first = nodes.get(0);
            for (RabbitNode node : nodes.subList(1, size)) {
                node.rabbitmqctl("stop_app");
                node.rabbitmqctl("reset");
                node.rabbitmqctl("join_cluster", first.nodeName());
                node.rabbitmqctl("start_app");
                node.rabbitmqctl("await_startup");
            }
            RabbitCluster cluster = new RabbitCluster(List.copyOf(nodes));
            String status = first.rabbitmqctl("cluster_status", "--formatter", "json");
            for (RabbitNode node : nodes) {
                if (!status.contains(node.nodeName())) {
                    throw new IllegalStateException(node.nodeName() + " did not join the cluster: " + status);
                }
            }
            return cluster;
        } catch (RuntimeException | Error e) {
            new RabbitCluster(nodes).close();
            throw e;
        }
    }

    public RabbitNode node(int i) {
        return nodes.get(i);
    }

    public List<RabbitNode> nodes() {
        return nodes;
    }

    /** {@code amqp://guest:guest@127.0.0.1:P0,127.0.0.1:P1,127.0.0.1:P2/%2F}: every node, as BrokerAddress reads it. */
    public String amqpUri() {
        return "amqp://guest:guest@" + nodes.stream().map(n -> "127.0.0.1:" + n.port()).collect(Collectors.joining(","))
                + "/%2F";
    }

    /** A node that runs now, to ask with rabbitmqctl. */
    public RabbitNode anyRunning() {
        return nodes.stream().filter(RabbitNode::isRunning).findFirst()
                .orElseThrow(() -> new IllegalStateException("no node of the cluster runs"));
    }

    /** The node (of this cluster) leading each quorum queue, by queue name, as a running node sees it. */
    public Map<String, RabbitNode> leaders() {
        Map<String, RabbitNode> byName = new HashMap<>();
        for (RabbitNode node : nodes) byName.put(node.nodeName(), node);
        Map<String, RabbitNode> leaders = new HashMap<>();
        String out = anyRunning().rabbitmqctl("list_queues", "-q", "--no-table-headers", "name", "leader");
        for (String line : out.split("\n")) {
            String[] cols = line.strip().split("\\s+");
            if (cols.length == 2 && byName.containsKey(cols[1])) leaders.put(cols[0], byName.get(cols[1]));
        }
        return leaders;
    }

    /** Stops every node, then closes them (the epmd they share goes with the last). */
    @Override
    public void close() {
        List<RuntimeException> problems = new ArrayList<>();
        for (RabbitNode node : nodes.reversed()) {
            try {
                node.stop();
            } catch (RuntimeException e) {
                problems.add(e);
            }
        }
        for (RabbitNode node : nodes.reversed()) {
            try {
                node.close();
            } catch (RuntimeException e) {
                problems.add(e);
            }
        }
        if (!problems.isEmpty()) {
            IllegalStateException e = new IllegalStateException("closing the cluster failed");
            problems.forEach(e::addSuppressed);
            throw e;
        }
    }
}
