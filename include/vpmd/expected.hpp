// A value or an error: the one error convention of the tree's control paths (C++20 has no
// std::expected; g++ 12 ships it only for C++23). At the DPDK boundary errors become negative
// errno values. Deliberately small: no exceptions, no monadic chaining.
#pragma once

#include <type_traits>
#include <utility>
#include <variant>

namespace vpmd {

template <class E>
struct Unexpected {
    E error;
};

template <class E>
Unexpected(E) -> Unexpected<E>;

template <class E>
[[nodiscard]] constexpr Unexpected<std::decay_t<E>> unexpected(E &&e) {
    return Unexpected<std::decay_t<E>>{std::forward<E>(e)};
}

template <class T, class E>
class [[nodiscard]] Expected {
public:
    using value_type = T;
    using error_type = E;

    template <class U = T>
        requires std::is_constructible_v<T, U &&>
    constexpr Expected(U &&v) : v_(std::in_place_index<0>, std::forward<U>(v)) {}
    template <class G>
    constexpr Expected(Unexpected<G> e) : v_(std::in_place_index<1>, std::move(e.error)) {}

    [[nodiscard]] constexpr bool has_value() const { return v_.index() == 0; }
    constexpr explicit operator bool() const { return has_value(); }

    // Calling value() on an error (or error() on a value) is a programming error;
    // std::get_if keeps it from being an exception path: it is undefined, so check first.
    [[nodiscard]] constexpr T &value() & { return *std::get_if<0>(&v_); }
    [[nodiscard]] constexpr const T &value() const & { return *std::get_if<0>(&v_); }
    [[nodiscard]] constexpr T &&value() && { return std::move(*std::get_if<0>(&v_)); }
    [[nodiscard]] constexpr const E &error() const { return *std::get_if<1>(&v_); }
    [[nodiscard]] constexpr T value_or(T other) const { return has_value() ? value() : other; }

    constexpr T &operator*() & { return value(); }
    constexpr const T &operator*() const & { return value(); }
    constexpr T *operator->() { return &value(); }
    constexpr const T *operator->() const { return &value(); }

private:
    std::variant<T, E> v_;
};

template <class E>
class [[nodiscard]] Expected<void, E> {
public:
    using value_type = void;
    using error_type = E;

    constexpr Expected() = default;
    template <class G>
    constexpr Expected(Unexpected<G> e) : err_(std::move(e.error)), ok_(false) {}

    [[nodiscard]] constexpr bool has_value() const { return ok_; }
    constexpr explicit operator bool() const { return ok_; }
    [[nodiscard]] constexpr const E &error() const { return err_; }

private:
    E err_{};
    bool ok_ = true;
};

} // namespace vpmd
