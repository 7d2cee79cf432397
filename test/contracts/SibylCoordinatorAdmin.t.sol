// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ISibylCoordinator} from "../../contracts/interfaces/ISibylCoordinator.sol";
import {Model, Operator, RequestCommitment} from "../../contracts/interfaces/SibylTypes.sol";
import {MockBatchVerifier} from "../../contracts/mocks/MockBatchVerifier.sol";
import {CoordinatorFixture} from "./utils/CoordinatorFixture.sol";

/// @dev Accepts no ether, to show a failed withdrawal keeps the balance.
contract EtherRefuser {
    function withdrawFrom(ISibylCoordinator coordinator) external {
        coordinator.withdraw();
    }

    function ask(ISibylCoordinator coordinator, bytes32 modelId) external payable {
        coordinator.request{value: msg.value}(modelId, "hi", 0);
    }
}

contract SibylCoordinatorAdminTest is CoordinatorFixture {
    address internal stranger = address(0xD00D);

    // ─── Operators ─────────────────────────────────────────────────────────────────────────────────

    function test_registerOperator_stakeBelowMinimum() public {
        vm.deal(stranger, 1 ether);
        vm.expectRevert(
            abi.encodeWithSelector(ISibylCoordinator.StakeTooLow.selector, MIN_STAKE - 1, MIN_STAKE)
        );
        vm.prank(stranger);
        coordinator.registerOperator{value: MIN_STAKE - 1}();
    }

    function test_registerOperator_twice() public {
        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.OperatorAlreadyActive.selector, operator));
        vm.prank(operator);
        coordinator.registerOperator{value: 1}();
    }

    function test_registerOperator_zeroMinimumForLocalDev() public {
        coordinator.setOperatorParameters(0, 0);
        vm.prank(stranger);
        coordinator.registerOperator();
        assertTrue(coordinator.operatorOf(stranger).active, "active with no stake");
    }

    function test_operatorLifecycle_exitUnbondWithdrawRejoin() public {
        vm.prank(operator);
        coordinator.requestOperatorExit();
        Operator memory exited = coordinator.operatorOf(operator);
        assertTrue(!exited.active, "inactive");
        assertEq(exited.unlockAt, block.timestamp + UNBONDING, "unlock time");

        vm.expectRevert(
            abi.encodeWithSelector(ISibylCoordinator.StakeLocked.selector, operator, exited.unlockAt)
        );
        vm.prank(operator);
        coordinator.withdrawStake();

        vm.warp(exited.unlockAt);
        uint256 balanceBefore = operator.balance;
        vm.prank(operator);
        coordinator.withdrawStake();
        assertEq(operator.balance, balanceBefore + MIN_STAKE, "stake returned");
        assertEq(coordinator.operatorOf(operator).stake, 0, "stake cleared");

        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.NothingToWithdraw.selector, operator));
        vm.prank(operator);
        coordinator.withdrawStake();

        vm.prank(operator);
        coordinator.registerOperator{value: MIN_STAKE}();
        assertTrue(coordinator.operatorOf(operator).active, "rejoined");
    }

    function test_withdrawStake_whileActive() public {
        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.StakeLocked.selector, operator, 0));
        vm.prank(operator);
        coordinator.withdrawStake();
    }

    function test_requestOperatorExit_notOperator() public {
        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.NotActiveOperator.selector, stranger));
        vm.prank(stranger);
        coordinator.requestOperatorExit();
    }

    // ─── Balances ──────────────────────────────────────────────────────────────────────────────────

    function test_withdraw_paysEarningsOnce() public {
        RequestCommitment memory commitment = _request(requester, "hi", 0);
        _fulfill(_single(_fulfillment(commitment, "ok")));
        uint256 before = operator.balance;
        vm.prank(operator);
        coordinator.withdraw();
        assertEq(operator.balance, before + commitment.fee, "earnings paid");
        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.NothingToWithdraw.selector, operator));
        vm.prank(operator);
        coordinator.withdraw();
    }

    function test_withdraw_worksWhilePaused() public {
        RequestCommitment memory commitment = _request(requester, "hi", 0);
        vm.warp(commitment.deadline + 1);
        coordinator.cancel(commitment);
        coordinator.pause();
        vm.prank(requester);
        coordinator.withdraw();
        assertEq(coordinator.balanceOf(requester), 0, "refund withdrawn while paused");
    }

    function test_withdraw_failedTransferKeepsBalance() public {
        EtherRefuser refuser = new EtherRefuser();
        uint256 fee = coordinator.estimateFee(MODEL_ID, 0);
        refuser.ask{value: fee + 5}(coordinator, MODEL_ID);
        assertEq(coordinator.balanceOf(address(refuser)), 5, "overpayment credited");
        vm.expectRevert(
            abi.encodeWithSelector(ISibylCoordinator.TransferFailed.selector, address(refuser), 5)
        );
        refuser.withdrawFrom(coordinator);
        assertEq(coordinator.balanceOf(address(refuser)), 5, "kept");
    }

    // ─── Owner ─────────────────────────────────────────────────────────────────────────────────────

    function test_registerModel_duplicate() public {
        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.ModelAlreadyRegistered.selector, MODEL_ID));
        coordinator.registerModel(MODEL_ID, _model());
    }

    function test_registerModel_invalidLimits() public {
        Model memory model = _model();
        model.timeout = 0;
        vm.expectRevert(
            abi.encodeWithSelector(
                ISibylCoordinator.InvalidModelLimits.selector,
                bytes32("m2"),
                MAX_INPUT,
                MAX_OUTPUT,
                0
            )
        );
        coordinator.registerModel("m2", model);
        model = _model();
        model.maxOutputBytes = 0;
        vm.expectRevert(
            abi.encodeWithSelector(
                ISibylCoordinator.InvalidModelLimits.selector,
                bytes32("m2"),
                MAX_INPUT,
                0,
                TIMEOUT
            )
        );
        coordinator.registerModel("m2", model);
    }

    function test_updateModel_unknown() public {
        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.UnknownModel.selector, bytes32("m2")));
        coordinator.updateModel("m2", _model());
    }

    function test_updateModel_doesNotChangePendingRequests() public {
        RequestCommitment memory commitment = _request(requester, "hi", 0);
        Model memory model = _model();
        model.maxOutputBytes = 1;
        model.fee = 1;
        coordinator.updateModel(MODEL_ID, model);
        assertEq(coordinator.modelOf(MODEL_ID).fee, 1, "updated");
        // The request keeps the limit it was made under.
        _fulfill(_single(_fulfillment(commitment, "longer than one byte")));
    }

    function test_setVerifier_keepsSizesSortedAndRemoves() public {
        uint256[] memory sizes = coordinator.batchSizes();
        assertEq(sizes.length, 4, "four sizes");
        assertEq(
            sizes[0] * 1000 + sizes[1] * 100 + sizes[2] * 10 + sizes[3],
            1000 + 400 + 160 + 64,
            "sorted"
        );
        coordinator.setVerifier(2, address(new MockBatchVerifier(2)));
        sizes = coordinator.batchSizes();
        assertEq(sizes[1], 2, "inserted in order");
        coordinator.setVerifier(4, address(0));
        sizes = coordinator.batchSizes();
        assertEq(sizes.length, 4, "removed one");
        assertEq(sizes[2], 16, "order kept");
        assertEq(address(coordinator.verifierFor(4)), address(0), "cleared");
    }

    function test_setVerifier_invalidSizeOrMismatch() public {
        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.InvalidBatchSize.selector, 3));
        coordinator.setVerifier(3, address(0));
        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.InvalidBatchSize.selector, 0));
        coordinator.setVerifier(0, address(0));
        address wrong = address(new MockBatchVerifier(16));
        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.VerifierBatchSizeMismatch.selector, 8, 16));
        coordinator.setVerifier(8, wrong);
    }

    function test_setFeeParameters_changesFees() public {
        coordinator.setFeeParameters(0, 2 gwei, 10);
        vm.fee(0);
        assertEq(coordinator.estimateFee(MODEL_ID, 10), MODEL_FEE + 10 * 2 gwei, "new parameters");
        assertEq(coordinator.maxCallbackGasLimit(), 10, "cap");
    }

    function test_ownerFunctions_onlyOwner() public {
        bytes memory unauthorized = abi.encodeWithSelector(
            Ownable.OwnableUnauthorizedAccount.selector,
            stranger
        );
        vm.startPrank(stranger);
        vm.expectRevert(unauthorized);
        coordinator.registerModel("m2", _model());
        vm.expectRevert(unauthorized);
        coordinator.updateModel(MODEL_ID, _model());
        vm.expectRevert(unauthorized);
        coordinator.setVerifier(1, address(0));
        vm.expectRevert(unauthorized);
        coordinator.setFeeParameters(0, 0, 0);
        vm.expectRevert(unauthorized);
        coordinator.setOperatorParameters(0, 0);
        vm.expectRevert(unauthorized);
        coordinator.pause();
        vm.expectRevert(unauthorized);
        coordinator.unpause();
        vm.stopPrank();
    }

    function test_ownership_isTwoStep() public {
        coordinator.transferOwnership(stranger);
        assertEq(coordinator.owner(), address(this), "not yet");
        vm.prank(stranger);
        coordinator.acceptOwnership();
        assertEq(coordinator.owner(), stranger, "accepted");
    }
}
