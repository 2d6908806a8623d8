package io.taskbatch.cli;

import io.taskbatch.queue.amqp.BrokerAddress;
import java.io.PrintWriter;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** How the roles are told where the broker is (the URI's password never shows in output). */
public class BrokerOptions {
    @Option(names = "--broker", paramLabel = "URI",
            description = "AMQP URI of the RabbitMQ broker (amqp:// or amqps://). Default: $" + BrokerAddress.ENV_URI
                    + ", or the file named by $" + BrokerAddress.ENV_URI_FILE + ".")
    String uri;

    @Option(names = "--broker-file", paramLabel = "FILE", description = "Read the AMQP URI from this file (a mounted Secret).")
    Path uriFile;

    @Option(names = "--broker-ca", paramLabel = "FILE", description = "PEM file of the CA that signed the broker's certificate (amqps).")
    Path caFile;

    boolean given() {
        return uri != null || uriFile != null || System.getenv(BrokerAddress.ENV_URI) != null
                || System.getenv(BrokerAddress.ENV_URI_FILE) != null;
    }

    BrokerAddress resolve() {
        return BrokerAddress.resolve(uri, uriFile, caFile, System.getenv());
    }

    /** The broker, or null after telling {@code err} what to set. */
    BrokerAddress resolveOrReport(PrintWriter err) {
        try {
            return resolve();
        } catch (IllegalArgumentException e) {
            err.println(e.getMessage());
            return null;
        }
    }
}
