// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Vm} from "./Vm.sol";

/// @notice Assertions and input shaping for Solidity tests, written for this project.
abstract contract TestBase {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    error AssertionFailed(string message);

    function assertTrue(bool condition, string memory message) internal pure {
        if (!condition) revert AssertionFailed(message);
    }

    function assertEq(uint256 actual, uint256 expected, string memory message) internal pure {
        if (actual != expected) revert AssertionFailed(_pair(message, actual, expected));
    }

    function assertEq(bytes32 actual, bytes32 expected, string memory message) internal pure {
        if (actual != expected) revert AssertionFailed(_pair(message, uint256(actual), uint256(expected)));
    }

    function assertEq(address actual, address expected, string memory message) internal pure {
        if (actual != expected) {
            revert AssertionFailed(_pair(message, uint160(actual), uint160(expected)));
        }
    }

    function assertEq(bytes memory actual, bytes memory expected, string memory message) internal pure {
        if (keccak256(actual) != keccak256(expected)) revert AssertionFailed(message);
    }

    function assertGe(uint256 actual, uint256 minimum, string memory message) internal pure {
        if (actual < minimum) revert AssertionFailed(_pair(message, actual, minimum));
    }

    /// @notice Maps `value` into [min, max] without discarding fuzz runs.
    function bound(uint256 value, uint256 min, uint256 max) internal pure returns (uint256) {
        if (min > max) revert AssertionFailed("bound: min > max");
        if (min == 0 && max == type(uint256).max) return value;
        return min + (value % (max - min + 1));
    }

    function _pair(
        string memory message,
        uint256 actual,
        uint256 expected
    ) private pure returns (string memory) {
        return string.concat(message, ": got ", _toString(actual), ", expected ", _toString(expected));
    }

    function _toString(uint256 value) private pure returns (string memory) {
        if (value == 0) return "0";
        bytes memory digits;
        while (value != 0) {
            digits = abi.encodePacked(bytes1(uint8(48 + (value % 10))), digits);
            value /= 10;
        }
        return string(digits);
    }
}
