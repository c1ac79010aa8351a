// A minimal streaming JSON writer for the run summary: objects, arrays, strings escaped,
// numbers printed so any JSON reader accepts them (no NaN/inf).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace vpmd::fwd {

class JsonWriter {
public:
    void begin_object(std::string_view key = {}) { open(key, '{'); }
    void end_object() { close('}'); }
    void begin_array(std::string_view key = {}) { open(key, '['); }
    void end_array() { close(']'); }

    void value(std::string_view key, std::string_view v) {
        prefix(key);
        quote(v);
    }
    void value(std::string_view key, const char *v) { value(key, std::string_view(v)); }
    void value(std::string_view key, const std::string &v) { value(key, std::string_view(v)); }
    void value(std::string_view key, bool v) {
        prefix(key);
        out_ += v ? "true" : "false";
    }
    void value(std::string_view key, uint64_t v) {
        prefix(key);
        out_ += std::to_string(v);
    }
    void value(std::string_view key, unsigned v) { value(key, uint64_t(v)); }
    void value(std::string_view key, int v) {
        prefix(key);
        out_ += std::to_string(v);
    }
    void value(std::string_view key, double v) {
        prefix(key);
        char buf[64];
        std::snprintf(buf, sizeof(buf), "%.6g", std::isfinite(v) ? v : 0.0);
        out_ += buf;
    }

    [[nodiscard]] const std::string &str() const { return out_; }

private:
    void prefix(std::string_view key) {
        if (!first_.empty()) {
            if (!first_.back()) {
                out_ += ',';
            }
            first_.back() = false;
        }
        if (!key.empty()) {
            quote(key);
            out_ += ':';
        }
    }
    void open(std::string_view key, char c) {
        prefix(key);
        out_ += c;
        first_.push_back(true);
    }
    void close(char c) {
        out_ += c;
        first_.pop_back();
    }
    void quote(std::string_view s) {
        out_ += '"';
        for (char ch : s) {
            const auto u = static_cast<unsigned char>(ch);
            if (ch == '"' || ch == '\\') {
                out_ += '\\';
                out_ += ch;
            } else if (u < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof(buf), "\\u%04x", u);
                out_ += buf;
            } else {
                out_ += ch;
            }
        }
        out_ += '"';
    }

    std::string out_;
    std::vector<bool> first_;
};

} // namespace vpmd::fwd
