package io.taskbatch.cli;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import io.taskbatch.queue.amqp.BrokerAddress;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code taskbatch ping}: can this pod reach the broker and use it? (the Helm chart's test runs it) */
@Command(name = "ping", mixinStandardHelpOptions = true,
        description = {"Connect to the broker, declare and delete a scratch queue, and say which broker answered."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:the broker answered and a queue could be declared", "2:no broker given",
                "3:the broker could not be reached or used"})
public class PingCommand implements Callable<Integer> {

    @Mixin
    BrokerOptions broker;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        BrokerAddress address = broker.resolveOrReport(err);
        if (address == null) return ExitCodes.INVALID;
        try (Connection connection = address.newConnection("taskbatch-ping");
             Channel channel = connection.createChannel()) {
            String queue = "taskbatch.ping." + UUID.randomUUID();
            channel.queueDeclare(queue, false, true, true, Map.of());
            channel.queueDelete(queue);
            Map<String, Object> server = connection.getServerProperties();
            out.println("broker OK: " + server.getOrDefault("product", "?") + " " + server.getOrDefault("version", "?")
                    + " at " + address);
            return ExitCodes.SUCCEEDED;
        } catch (IOException | TimeoutException e) {
            err.println("cannot use the broker " + address + ": " + BrokerAddress.describe(e));
            return ExitCodes.UNAVAILABLE;
        }
    }
}
