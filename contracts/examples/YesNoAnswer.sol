// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice What a model's answer says about a yes/no question.
enum YesNo {
    Unknown,
    Yes,
    No
}

/// @title YesNoAnswer
/// @notice Reads "yes" or "no" (any case, surrounding whitespace and a final period allowed) from a
/// model's answer.
/// @dev Reads at most MAX_ANSWER_BYTES bytes and allocates nothing, so its gas is bounded whatever the
/// answer's length: anything longer is Unknown without being read.
library YesNoAnswer {
    /// @notice Longest answer that is read at all; " Yes.\n" and the like fit with room to spare.
    uint256 internal constant MAX_ANSWER_BYTES = 16;

    function parse(bytes calldata answer) internal pure returns (YesNo) {
        if (answer.length > MAX_ANSWER_BYTES) return YesNo.Unknown;
        uint256 start;
        uint256 end = answer.length;
        while (start < end && _isSpace(answer[start])) ++start;
        while (end > start && (_isSpace(answer[end - 1]) || answer[end - 1] == ".")) --end;
        uint256 length = end - start;
        if (
            length == 3 &&
            _lower(answer[start]) == "y" &&
            _lower(answer[start + 1]) == "e" &&
            _lower(answer[start + 2]) == "s"
        ) {
            return YesNo.Yes;
        }
        if (length == 2 && _lower(answer[start]) == "n" && _lower(answer[start + 1]) == "o") {
            return YesNo.No;
        }
        return YesNo.Unknown;
    }

    function _lower(bytes1 char) private pure returns (bytes1) {
        return char >= "A" && char <= "Z" ? bytes1(uint8(char) + 32) : char;
    }

    function _isSpace(bytes1 char) private pure returns (bool) {
        return char == " " || char == "\n" || char == "\t" || char == "\r";
    }
}
