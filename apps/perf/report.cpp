// vpmd-perf report: summary statistics and the four output formats.
#include "apps/perf/report.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>

namespace vpmd::perf {

namespace {

double median_of(std::vector<double> v) {
    if (v.empty()) {
        return 0;
    }
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

template <class F>
double median_field(const std::vector<Sample> &runs, F f) {
    std::vector<double> v;
    for (const auto &s : runs) {
        v.push_back(f(s));
    }
    return median_of(v);
}

std::string fmt(const char *f, double v) {
    char b[64];
    std::snprintf(b, sizeof(b), f, v);
    return b;
}


// A CSV field that may hold commas or quotes (error texts do): quoted only then.
std::string csv_quote(const std::string &s) {
    if (s.find_first_of(",\"\n") == std::string::npos) {
        return s;
    }
    std::string o = "\"";
    for (char c : s) {
        o += c;
        if (c == '"') {
            o += '"';
        }
    }
    return o + '"';
}

std::string xml_escape(const std::string &s) {
    std::string o;
    for (char c : s) {
        switch (c) {
        case '<': o += "&lt;"; break;
        case '>': o += "&gt;"; break;
        case '&': o += "&amp;"; break;
        default: o += c;
        }
    }
    return o;
}

} // namespace

std::string json_escape(const std::string &s) {
    std::string o;
    for (char c : s) {
        if (c == '"' || c == '\\') {
            o += '\\';
            o += c;
        } else if (c == '\n') {
            o += "\\n";
        } else if (static_cast<unsigned char>(c) >= 0x20) {
            o += c;
        }
    }
    return o;
}

void summarize(Report &r) {
    std::map<std::string, double> virtio_median;
    for (Row &row : r.rows) {
        row.ok = !row.runs.empty() && std::all_of(row.runs.begin(), row.runs.end(), [](const Sample &s) { return s.ok; });
        row.error.clear();
        for (const auto &s : row.runs) {
            if (!s.ok) {
                row.error = s.error;
                break;
            }
        }
        std::vector<double> m;
        for (const auto &s : row.runs) {
            m.push_back(s.mpps);
        }
        row.median = median_of(m);
        row.min = m.empty() ? 0 : *std::min_element(m.begin(), m.end());
        row.max = m.empty() ? 0 : *std::max_element(m.begin(), m.end());
        row.gbps = median_field(row.runs, [](const Sample &s) { return s.gbps; });
        row.cycles_per_packet = median_field(row.runs, [](const Sample &s) { return s.cycles_per_packet; });
        row.p50_us = median_field(row.runs, [](const Sample &s) { return s.p50_us; });
        row.p99_us = median_field(row.runs, [](const Sample &s) { return s.p99_us; });
        row.p999_us = median_field(row.runs, [](const Sample &s) { return s.p999_us; });
        if (row.driver == "net_virtio_user" && row.ok) {
            virtio_median[row.scenario] = row.median;
        }
    }
    for (Row &row : r.rows) {
        row.ratio.reset();
        const auto it = virtio_median.find(row.scenario);
        if (row.driver == "net_vpmd" && row.ok && it != virtio_median.end() && it->second > 0) {
            row.ratio = row.median / it->second;
        }
    }
}

std::string to_table(const Report &r) {
    std::ostringstream o;
    char line[512];
    int w = 40; // the scenario column: as wide as its longest name
    for (const Row &row : r.rows) {
        w = std::max(w, int(row.scenario.size()));
    }
    std::snprintf(line, sizeof(line), "%-*s %-16s %8s %17s %8s %8s %24s %7s  %s\n", w, "scenario", "driver", "Mpps",
                  "(min..max)", "Gbit/s", "cyc/pkt", "latency p50/p99/p99.9 us", "ratio", "status");
    o << line;
    for (const Row &row : r.rows) {
        const std::string range = fmt("%.2f", row.min) + ".." + fmt("%.2f", row.max);
        const std::string lat = row.p50_us > 0 ? fmt("%.1f", row.p50_us) + "/" + fmt("%.1f", row.p99_us) + "/" +
                                                     fmt("%.1f", row.p999_us)
                                               : "-";
        const std::string ratio = row.ratio ? fmt("%.2fx", *row.ratio) : "";
        std::snprintf(line, sizeof(line), "%-*s %-16s %8.2f %17s %8.2f %8.1f %24s %7s  %s\n", w, row.scenario.c_str(),
                      row.driver.c_str(), row.median, range.c_str(), row.gbps, row.cycles_per_packet, lat.c_str(),
                      ratio.c_str(), row.ok ? "ok" : ("FAILED: " + row.error).c_str());
        o << line;
    }
    return o.str();
}

Verdict verdict(const Report &r) {
    Verdict v;
    for (const Row &row : r.rows) {
        if (row.driver == "net_virtio_user") {
            ++v.peer_rows;
            v.peer_failed += row.ok ? 0 : 1;
        } else {
            v.ok = v.ok && row.ok;
        }
    }
    return v;
}

std::string to_csv(const Report &r) {
    std::ostringstream o;
    o << "scenario,driver,size,mpps_median,mpps_min,mpps_max,gbps,cycles_per_packet,lat_p50_us,lat_p99_us,"
         "lat_p999_us,ratio_vs_virtio_user,runs,status\n";
    for (const Row &row : r.rows) {
        o << row.scenario << ',' << row.driver << ',' << row.size << ',' << fmt("%.4f", row.median) << ','
          << fmt("%.4f", row.min) << ',' << fmt("%.4f", row.max) << ',' << fmt("%.4f", row.gbps) << ','
          << fmt("%.2f", row.cycles_per_packet) << ',' << fmt("%.3f", row.p50_us) << ',' << fmt("%.3f", row.p99_us)
          << ',' << fmt("%.3f", row.p999_us) << ',' << (row.ratio ? fmt("%.4f", *row.ratio) : "") << ','
          << row.runs.size() << ',' << csv_quote(row.ok ? "ok" : "failed: " + row.error) << '\n';
    }
    return o.str();
}

std::string to_json(const Report &r) {
    std::ostringstream o;
    o << "{\n  \"header\": \"" << json_escape(r.header) << "\",\n  \"results\": [\n";
    for (size_t i = 0; i < r.rows.size(); ++i) {
        const Row &row = r.rows[i];
        o << "    {\"scenario\": \"" << json_escape(row.scenario) << "\", \"driver\": \"" << row.driver
          << "\", \"size\": " << row.size << ", \"mpps\": {\"median\": " << fmt("%.4f", row.median)
          << ", \"min\": " << fmt("%.4f", row.min) << ", \"max\": " << fmt("%.4f", row.max)
          << "}, \"gbps\": " << fmt("%.4f", row.gbps) << ", \"cycles_per_packet\": " << fmt("%.2f", row.cycles_per_packet)
          << ", \"latency_us\": {\"p50\": " << fmt("%.3f", row.p50_us) << ", \"p99\": " << fmt("%.3f", row.p99_us)
          << ", \"p99_9\": " << fmt("%.3f", row.p999_us) << "}, \"ratio_vs_virtio_user\": "
          << (row.ratio ? fmt("%.4f", *row.ratio) : "null") << ", \"ok\": " << (row.ok ? "true" : "false")
          << ", \"error\": \"" << json_escape(row.error) << "\", \"runs\": [";
        for (size_t k = 0; k < row.runs.size(); ++k) {
            const Sample &s = row.runs[k];
            o << (k ? ", " : "") << "{\"mpps\": " << fmt("%.4f", s.mpps) << ", \"packets\": " << s.packets
              << ", \"lanes\": [";
            for (size_t j = 0; j < s.lanes.size(); ++j) {
                o << (j ? ", " : "") << "{\"lcore\": " << s.lanes[j].lcore << ", \"packets\": " << s.lanes[j].packets
                  << "}";
            }
            o << "], \"lost\": " << s.lost << ", \"reordered\": " << s.reordered << ", \"corrupted\": " << s.corrupted
              << ", \"ok\": " << (s.ok ? "true" : "false") << "}";
        }
        o << "]}" << (i + 1 < r.rows.size() ? "," : "") << "\n";
    }
    o << "  ]\n}\n";
    return o.str();
}

// A grouped bar chart: one group per scenario, one bar per driver, Mpps on the y axis.
std::string to_svg(const Report &r) {
    std::vector<std::string> scenarios, drivers;
    for (const Row &row : r.rows) {
        if (std::find(scenarios.begin(), scenarios.end(), row.scenario) == scenarios.end()) {
            scenarios.push_back(row.scenario);
        }
        if (std::find(drivers.begin(), drivers.end(), row.driver) == drivers.end()) {
            drivers.push_back(row.driver);
        }
    }
    double top = 1;
    for (const Row &row : r.rows) {
        top = std::max(top, row.max);
    }
    const int bar = 22, gap = 30, left = 60, height = 300, bottom = 200;
    const int group = int(drivers.size()) * bar + gap;
    const int width = left + int(scenarios.size()) * group + 40;
    const char *colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"};
    std::ostringstream o;
    o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height + bottom
      << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
    o << "<text x=\"" << left << "\" y=\"16\" font-size=\"13\">vpmd-perf: Mpps (median; whiskers min..max)</text>\n";
    o << "<line x1=\"" << left << "\" y1=\"" << height << "\" x2=\"" << width - 20 << "\" y2=\"" << height
      << "\" stroke=\"black\"/>\n";
    for (int t = 0; t <= 4; ++t) {
        const double v = top * t / 4;
        const int y = height - int(v / top * (height - 40));
        o << "<text x=\"" << left - 8 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\">" << fmt("%.1f", v)
          << "</text><line x1=\"" << left << "\" y1=\"" << y << "\" x2=\"" << width - 20 << "\" y2=\"" << y
          << "\" stroke=\"#ddd\"/>\n";
    }
    for (size_t si = 0; si < scenarios.size(); ++si) {
        const int gx = left + int(si) * group + gap / 2;
        for (size_t di = 0; di < drivers.size(); ++di) {
            for (const Row &row : r.rows) {
                if (row.scenario != scenarios[si] || row.driver != drivers[di]) {
                    continue;
                }
                const int x = gx + int(di) * bar;
                const int h = int(row.median / top * (height - 40));
                const int ymin = height - int(row.min / top * (height - 40));
                const int ymax = height - int(row.max / top * (height - 40));
                o << "<rect x=\"" << x << "\" y=\"" << height - h << "\" width=\"" << bar - 4 << "\" height=\"" << h
                  << "\" fill=\"" << (row.ok ? colors[di % 4] : "#999") << "\"><title>" << xml_escape(row.driver)
                  << ": " << fmt("%.2f", row.median) << " Mpps</title></rect>\n";
                o << "<line x1=\"" << x + (bar - 4) / 2 << "\" y1=\"" << ymin << "\" x2=\"" << x + (bar - 4) / 2
                  << "\" y2=\"" << ymax << "\" stroke=\"black\"/>\n";
            }
        }
        o << "<text transform=\"translate(" << gx + 4 << "," << height + 12 << ") rotate(45)\">"
          << xml_escape(scenarios[si]) << "</text>\n";
    }
    for (size_t di = 0; di < drivers.size(); ++di) {
        const int y = 30 + int(di) * 16;
        o << "<rect x=\"" << width - 170 << "\" y=\"" << y - 10 << "\" width=\"12\" height=\"12\" fill=\""
          << colors[di % 4] << "\"/><text x=\"" << width - 152 << "\" y=\"" << y << "\">" << xml_escape(drivers[di])
          << "</text>\n";
    }
    o << "</svg>\n";
    return o.str();
}

} // namespace vpmd::perf
