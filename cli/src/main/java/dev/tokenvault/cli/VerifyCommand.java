package dev.tokenvault.cli;

import dev.tokenvault.VerifyReport;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;

@Command(name = "verify", description = {
    "Decrypts every record and checks every index entry in both directions; changes nothing.",
    "Exit code 3 when a problem is found (each is listed by record id and field, never by value)."})
final class VerifyCommand extends MaintenanceCommand {
    @Override
    boolean readsOnly() {
        return true;
    }

    @Override
    public Integer call() {
        Render r = root.render();
        VerifyReport report = runOnStore("verify", vault -> vault.verify());
        if (r.json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("clean", report.isClean());
            doc.put("recordsChecked", report.recordsChecked());
            doc.put("indexEntriesChecked", report.indexEntriesChecked());
            doc.put("problems", report.problems());
            r.json(doc);
        } else {
            r.out.println("records checked:       " + report.recordsChecked());
            r.out.println("index entries checked: " + report.indexEntriesChecked());
            if (report.isClean()) {
                r.out.println("clean: every record opened and every index entry matched");
            } else {
                r.out.println(report.problems().size() + " problem(s):");
                for (String p : report.problems()) {
                    r.out.println("  " + Text.safe(p));
                }
            }
            r.out.flush();
        }
        return report.isClean() ? ExitCode.OK : ExitCode.KEY_OR_INTEGRITY;
    }
}
